"""catalog.browse.search_catalog (the web catalog page's search) and catalog.store.count_view,
over datasets made through the service; the word rules of catalog.vocabulary on their own."""

from __future__ import annotations

import pytest

from civicport.catalog.browse import CatalogPage, CatalogQuery, search_catalog
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.search import ReadScope
from civicport.catalog.service import import_table
from civicport.catalog.store import count_view, get_dataset
from civicport.catalog.vocabulary import MAX_WORD_LENGTH, edit_distance, query_words, singular
from civicport.errors import InvalidQuery

# id, title, description, category, department, tags, audience, columns
DATASETS = [
    (
        "aaaa-0001",
        "Restaurant Inspections",
        "Health inspection results for restaurants.",
        "Health",
        "Health Department",
        ("food",),
        "public",
        [("grade", "text"), ("location", "point")],
    ),
    (
        "aaaa-0002",
        "Elevator inspection",
        "Yearly checks of elevators.",
        "Safety",
        "Buildings",
        ("elevators",),
        "public",
        [("address", "text")],
    ),
    (
        "aaaa-0003",
        "Building Permits",
        "Permits issued after inspection.",
        "Housing",
        "Buildings",
        ("construction", "permits"),
        "public",
        [("permit_type", "text")],
    ),
    (
        "aaaa-0004",
        "Branch libraries",
        "Opening hours, and the building inspection dates.",
        "Culture",
        "Libraries",
        ("books",),
        "public",
        [("branch", "text"), ("site", "point")],
    ),
    (
        "aaaa-0005",
        "Drop box locations",
        "Where to leave ballots.",
        "Elections",
        "Clerk",
        ("ballots",),
        "public",
        [("box_id", "text"), ("location", "point")],
    ),
    (
        "aaaa-0006",
        "Payroll",
        "Salaries by zebrafish unit.",
        "Finance",
        "Finance",
        ("staff",),
        "private",
        [("salary", "number")],
    ),
    (
        "aaaa-0007",
        "Building inspection reports",
        "",
        "Housing",
        "Buildings",
        (),
        "public",
        [("report", "text")],
    ),
]
PUBLIC_BY_NAME = ["aaaa-0004", "aaaa-0007", "aaaa-0003", "aaaa-0005", "aaaa-0002", "aaaa-0001"]
MAPS = {"aaaa-0001", "aaaa-0004", "aaaa-0005"}


@pytest.fixture
def catalog(engine, table) -> None:
    for dataset_id, title, description, category, department, tags, audience, columns in DATASETS:
        metadata = DatasetMetadata(
            title=title,
            description=description,
            category=category,
            department=department,
            tags=tags,
            audience=audience,
        )
        row = tuple(None for _ in columns)
        import_table(engine, table(columns, [row]), metadata=metadata, dataset_id=dataset_id)


def search(engine, **kwargs) -> CatalogPage:
    with engine.connect() as conn:
        return search_catalog(conn, CatalogQuery(**kwargs))


def ids(engine, **kwargs) -> list[str]:
    return [record.id for record in search(engine, **kwargs).records]


def test_no_query_lists_visible_datasets_by_name(engine, catalog):
    page = search(engine)
    assert [r.id for r in page.records] == PUBLIC_BY_NAME
    assert (page.total, page.words, page.corrections) == (6, (), {})
    assert [c.field_name for c in page.records[0].columns] == ["branch", "site"]
    assert search(engine, scope=None).total == 7
    assert search(engine, scope=ReadScope(())).total == 0


@pytest.mark.parametrize(
    ("q", "words", "expected"),
    [
        ("restaur", ("restaur",), {"aaaa-0001"}),  # a prefix
        ("RESTAURANT", ("restaurant",), {"aaaa-0001"}),  # any case
        ("food", ("food",), {"aaaa-0001"}),  # a tag
        ("clerk", ("clerk",), {"aaaa-0005"}),  # a department
        ("culture", ("culture",), {"aaaa-0004"}),  # a category
        ("grade", ("grade",), {"aaaa-0001"}),  # a column name
        ("permit_type", ("permit_type",), {"aaaa-0003"}),  # '_' is literal
        ("elevator ballot", ("elevator", "ballot"), set()),  # every word must match
        ("inspections", ("inspection",), {"aaaa-0001", "aaaa-0002", "aaaa-0003", "aaaa-0004",
                                          "aaaa-0007"}),  # plural finds singular
        ("permit", ("permit",), {"aaaa-0003"}),  # singular finds plural
        ("libraries", ("library",), {"aaaa-0004"}),
        ("boxes", ("box",), {"aaaa-0005"}),
    ],
)  # fmt: skip
def test_words_prefixes_and_plurals(engine, catalog, q, words, expected):
    page = search(engine, q=q)
    assert set(ids(engine, q=q)) == expected
    assert (page.words, page.total, page.corrections) == (words, len(expected), {})


def test_a_singular_in_y_finds_its_plural(engine, catalog):
    assert ids(engine, q="library") == ["aaaa-0004"]  # "Branch libraries", "Libraries"
    assert ids(engine, q="library", departments=("libraries",)) == ["aaaa-0004"]
    assert search(engine, q="ballot").total == 1


@pytest.mark.parametrize(
    ("q", "corrections", "expected"),
    [
        ("restaraunt", {"restaraunt": ("restaurant",)}, {"aaaa-0001"}),
        ("permts", {"permt": ("permit",)}, {"aaaa-0003"}),
        ("inspectoin", {"inspectoin": ("inspection",)}, {"aaaa-0001", "aaaa-0002", "aaaa-0003",
                                                         "aaaa-0004", "aaaa-0007"}),
        ("restaraunt inspectoin", {"restaraunt": ("restaurant",),
                                   "inspectoin": ("inspection",)}, {"aaaa-0001"}),
    ],
)  # fmt: skip
def test_small_typos_are_corrected_and_reported(engine, catalog, q, corrections, expected):
    page = search(engine, q=q)
    assert {r.id for r in page.records} == expected
    assert page.corrections == corrections


def test_short_words_are_never_corrected(engine, catalog):
    page = search(engine, q="bok")  # one edit from "box", but under 4 letters
    assert (page.total, page.corrections) == (0, {})


def test_private_words_neither_match_nor_correct_a_public_search(engine, catalog):
    assert search(engine, q="zebrafish").total == 0
    public = search(engine, q="zebrafsh")
    assert (public.total, public.corrections) == (0, {})
    everything = search(engine, q="zebrafsh", scope=None)
    assert [r.id for r in everything.records] == ["aaaa-0006"]
    assert everything.corrections == {"zebrafsh": ("zebrafish",)}


def test_the_vocabulary_follows_catalog_changes(engine, catalog, table):
    assert search(engine, q="zonning").total == 0
    metadata = DatasetMetadata(title="Zoning districts", audience="public")
    import_table(engine, table([("district", "text")], [("R1",)]), metadata=metadata)
    page = search(engine, q="zonning")
    assert (page.total, page.corrections) == (1, {"zonning": ("zoning",)})


@pytest.mark.parametrize("q", ["%%% ***", "", "   ", "—", "%"])
def test_a_query_without_words_matches_everything(engine, catalog, q):
    page = search(engine, q=q)
    assert (page.words, page.total) == ((), 6)


def test_long_queries_are_cut_to_a_few_short_words(engine, catalog):
    long_word = search(engine, q="restaurant " + "x" * 10_000)
    assert long_word.words == ("restaurant", "x" * MAX_WORD_LENGTH)
    assert long_word.total == 0
    many_words = search(engine, q=" ".join(f"w{i}" for i in range(2_000)))
    assert len(many_words.words) == 12
    repeated = search(engine, q="inspections " * 1_000)
    assert (repeated.words, repeated.total) == (("inspection",), 5)


def test_filters_match_any_value_case_aside(engine, catalog):
    assert ids(engine, categories=("HEALTH", "culture")) == ["aaaa-0004", "aaaa-0001"]
    assert ids(engine, departments=("buildings",)) == ["aaaa-0007", "aaaa-0003", "aaaa-0002"]
    assert ids(engine, tags=("Permits", "books")) == ["aaaa-0004", "aaaa-0003"]
    assert set(ids(engine, types=("map",))) == MAPS
    assert set(ids(engine, types=("table",))) == set(PUBLIC_BY_NAME) - MAPS
    assert ids(engine, types=("table", "map")) == PUBLIC_BY_NAME
    assert ids(engine, types=("chart",)) == []  # like an unknown category
    assert ids(engine, q="inspection", departments=("buildings",), types=("table",)) == [
        "aaaa-0007",
        "aaaa-0002",
        "aaaa-0003",
    ]
    assert ids(engine, categories=("finance",)) == []  # private


def test_facets_count_all_matches_of_the_whole_query(engine, catalog):
    everything = search(engine, limit=1).facets
    assert everything.categories == [
        ("Housing", 2),
        ("Culture", 1),
        ("Elections", 1),
        ("Health", 1),
        ("Safety", 1),
    ]
    assert everything.departments == [
        ("Buildings", 3),
        ("Clerk", 1),
        ("Health Department", 1),
        ("Libraries", 1),
    ]
    assert everything.tags[:2] == [("ballots", 1), ("books", 1)]
    assert len(everything.tags) == 6
    assert everything.types == [("map", 3), ("table", 3)]
    inspection_maps = search(engine, q="inspections", types=("map",)).facets
    assert inspection_maps.categories == [("Culture", 1), ("Health", 1)]
    assert inspection_maps.departments == [("Health Department", 1), ("Libraries", 1)]
    assert inspection_maps.tags == [("books", 1), ("food", 1)]
    assert inspection_maps.types == [("map", 2)]


def test_relevance_puts_the_whole_query_in_the_title_first(engine, catalog):
    # a0007's title has the phrase; a0003 and a0002 one word each; a0004 none (its description)
    page = search(engine, q="building inspections")
    assert [r.id for r in page.records] == ["aaaa-0007", "aaaa-0003", "aaaa-0002", "aaaa-0004"]
    assert ids(engine, q="building inspections", sort="name") == [
        "aaaa-0004",
        "aaaa-0007",
        "aaaa-0003",
        "aaaa-0002",
    ]


def test_sort_by_update_and_by_views(engine, catalog, table):
    by_update = ids(engine, sort="updated")
    assert by_update == [
        "aaaa-0007",
        "aaaa-0005",
        "aaaa-0004",
        "aaaa-0003",
        "aaaa-0002",
        "aaaa-0001",
    ]
    import_table(engine, table([("grade", "text")], [("A",)]), metadata=None,
                 dataset_id="aaaa-0002", mode="replace")  # fmt: skip
    assert ids(engine, sort="updated")[:2] == ["aaaa-0002", "aaaa-0007"]
    with engine.begin() as conn:
        for dataset_id in ("aaaa-0004", "aaaa-0001", "aaaa-0004"):
            count_view(conn, dataset_id)
    unseen = [i for i in PUBLIC_BY_NAME if i not in ("aaaa-0004", "aaaa-0001")]
    assert ids(engine, sort="views") == ["aaaa-0004", "aaaa-0001", *unseen]


def test_paging_is_stable_with_exact_totals(engine, catalog):
    for sort in ("relevance", "updated", "views", "name"):
        pages = [search(engine, sort=sort, limit=4, offset=offset) for offset in (0, 4, 8)]
        assert [p.total for p in pages] == [6, 6, 6]
        assert [len(p.records) for p in pages] == [4, 2, 0]
        assert [r.id for p in pages for r in p.records] == ids(engine, sort=sort)
    nothing = search(engine, limit=0)
    assert (nothing.records, nothing.total) == ([], 6)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (CatalogQuery(sort="popular"), "Unknown sort 'popular'; use one of relevance, updated"),
        (CatalogQuery(offset=-1), "offset must be 0 or more"),
        (CatalogQuery(limit=-5), "limit must be 0 or more"),
    ],
)
def test_bad_sorts_and_windows_are_invalid_queries(engine, query, message):
    with engine.connect() as conn, pytest.raises(InvalidQuery, match=message):
        search_catalog(conn, query)


def test_count_view_adds_one_and_leaves_the_dataset_unchanged(engine, catalog):
    with engine.connect() as conn:
        before = get_dataset(conn, "aaaa-0001")
    with engine.begin() as conn:
        count_view(conn, "aaaa-0001")
        count_view(conn, "aaaa-0001")
        count_view(conn, "nope-0000")  # a dataset deleted meanwhile: nothing to count
    with engine.connect() as conn:
        after = get_dataset(conn, "aaaa-0001")
    assert (before.view_count, after.view_count) == (0, 2)
    assert after.metadata_updated_at == before.metadata_updated_at


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("inspections", "inspection"),
        ("permits", "permit"),
        ("libraries", "library"),
        ("boxes", "box"),
        ("addresses", "address"),
        ("churches", "church"),
        ("address", "address"),
        ("status", "status"),
        ("analysis", "analysis"),
        ("series", "series"),
        ("gas", "gas"),
        ("311s", "311s"),
    ],
)
def test_singular(word, expected):
    assert singular(word) == expected


def test_query_words_are_lower_case_distinct_and_in_order():
    assert query_words("Permits, PERMIT & café-Inspections!") == ("permit", "café", "inspection")


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("inspectoin", "inspection", 1),  # a transposition is one edit
        ("restaraunt", "restaurant", 2),
        ("permt", "permit", 1),
        ("permit", "permit", 0),
        ("abcdef", "uvwxyz", 3),  # past the limit of 2: reported as limit + 1
    ],
)
def test_edit_distance_is_bounded(a, b, distance):
    assert edit_distance(a, b, 2) == distance


def test_a_list_without_facets_still_counts_its_matches(engine, make_dataset) -> None:
    for title in ("Trees", "Tree permits", "Potholes"):
        make_dataset(title=title, category="Parks")
    with engine.connect() as conn:
        page = search_catalog(conn, CatalogQuery(q="tree", facets=False, limit=1))
    assert page.total == 2
    assert len(page.records) == 1
    assert page.facets.categories == []
