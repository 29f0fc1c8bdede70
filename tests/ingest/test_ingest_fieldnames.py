from civicport.ingest.fieldnames import MAX_LENGTH, field_name, name_columns


def test_field_name_follows_socrata_rules():
    assert field_name("Inspection Date") == "inspection_date"
    assert field_name("  PERMIT#") == "permit"
    assert field_name("30-60-90 Days Open Window") == "_30_60_90_days_open_window"
    assert field_name(":@computed_region_efsh_h5xi") == "computed_region_efsh_h5xi"
    assert field_name("Café Nenaí") == "cafe_nenai"
    assert field_name("###") == ""


def test_long_names_are_cut_to_leave_room_for_point_suffixes():
    name = field_name("a very long column name " * 10)
    assert len(name) <= MAX_LENGTH
    assert len(name + "__lon") <= 63
    assert not name.endswith("_")


def test_collisions_get_numbered_suffixes():
    named = name_columns(["Zip Code", "zip_code", "ZIP-CODE"])
    assert [f for f, _ in named] == ["zip_code", "zip_code_1", "zip_code_2"]
    assert [d for _, d in named] == ["Zip Code", "zip_code", "ZIP-CODE"]


def test_blank_and_duplicate_headers_get_clear_display_names():
    named = name_columns(["Name", "", "  ", "Name", "name", "?"])
    assert named == [
        ("name", "Name"),
        ("column_2", "Column 2"),
        ("column_3", "Column 3"),
        ("name_1", "Name (2)"),
        ("name_2", "name (3)"),
        ("column_6", "?"),
    ]


def test_reserved_names_are_avoided():
    assert name_columns(["id"], reserved={"id"}) == [("id_1", "id")]
