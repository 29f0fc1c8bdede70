"""The bundled sample data and `civicport demo`'s setup step (importing without serving)."""

from __future__ import annotations

import pytest

from civicport.auth.audit import list_events
from civicport.auth.signin import sign_in
from civicport.catalog.ids import is_dataset_id
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.store import get_dataset
from civicport.demo.catalog import demo_datasets
from civicport.demo.setup import DEMO_ADMIN_EMAIL, setup_demo

# Data rows in each bundled file (from shared/data/README.md), in catalog order.
EXPECTED_ROWS = {"food-insp": 25_549, "crne-prmt": 441, "pthl-kcmo": 4_493, "crsh-hfd1": 38_949}


def test_catalog_describes_every_bundled_file():
    datasets = demo_datasets()

    assert [d.id for d in datasets] == list(EXPECTED_ROWS)
    for d in datasets:
        assert is_dataset_id(d.id)
        assert d.path.is_file(), d.path
        meta = d.metadata
        assert meta.title
        assert meta.description
        assert meta.category
        assert meta.tags
        assert meta.source_link
        assert meta.attribution
        assert meta.audience == "public"
        # A licence is named, or the description says honestly that none is stated.
        assert meta.license_name or "Licence: not stated" in meta.description


def test_catalog_rejects_unknown_keys(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text('[[dataset]]\nid = "abcd-1234"\nfile = "x.csv"\ntitel = "Typo"\n')

    with pytest.raises(ValueError, match="titel"):
        demo_datasets(path)


def test_metadata_keys_map_onto_dataset_metadata():
    # Every DatasetMetadata field the catalog sets must survive the trip unchanged.
    permits = next(d for d in demo_datasets() if d.id == "crne-prmt")

    assert isinstance(permits.metadata, DatasetMetadata)
    assert permits.metadata.license_name == "City of Chicago data portal terms of use"
    assert permits.row_identifier == "id"


@pytest.mark.slow
def test_setup_demo_imports_each_dataset_once(settings, engine):
    first, admin = setup_demo(settings)

    assert [o.dataset.id for o in first] == list(EXPECTED_ROWS)
    assert all(o.result is not None for o in first)
    with engine.connect() as conn:
        for dataset_id, rows in EXPECTED_ROWS.items():
            record = get_dataset(conn, dataset_id)
            assert (record.row_count, record.audience) == (rows, "public")
        versions = {i: get_dataset(conn, i).data_version for i in EXPECTED_ROWS}
        crash_types = {c.field_name: c.soda_type for c in get_dataset(conn, "crsh-hfd1").columns}
        assert crash_types["location"] == "point"  # the Hartford point layer maps

    # A new portal gets one admin, whose random password signs in; a second run makes none.
    assert admin is not None
    assert admin.email == DEMO_ADMIN_EMAIL
    with engine.connect() as conn:
        principal, _cookie = sign_in(conn, admin.email, admin.password, key="k")
        assert principal.role == "admin"
        assert list_events(conn, action="user.create")[0].actor == "demo"

    second, again = setup_demo(settings)

    assert again is None
    assert all(o.result is None for o in second)
    with engine.connect() as conn:
        assert {i: get_dataset(conn, i).data_version for i in EXPECTED_ROWS} == versions


def test_descriptions_are_unwrapped_but_keep_their_blocks():
    crashes = next(d for d in demo_datasets() if d.id == "crsh-hfd1").metadata.description

    first, table = crashes.split("\n\n")[:2]
    assert first.startswith("Motor-vehicle crashes in Hartford")
    assert "\n" not in first
    assert table.splitlines()[0] == "| column | meaning |"
    assert len(table.splitlines()) == 12
