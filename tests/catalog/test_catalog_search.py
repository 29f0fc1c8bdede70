"""catalog.browse.search_catalog as the Discovery API calls it (relevance order, no facets)
and its facets, over datasets made through the service."""

from __future__ import annotations

import pytest

from civicport.catalog.browse import CatalogQuery, search_catalog
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.search import ReadScope
from civicport.catalog.service import import_table
from civicport.catalog.store import get_dataset
from civicport.errors import NotFound


@pytest.fixture
def catalog(engine, table) -> None:
    """Five datasets with known titles, categories, tags, audiences and columns."""
    entries = [
        ("aaaa-0001", "Pothole repairs", "Streets", ("roads", "311"), "public", "ward"),
        ("aaaa-0002", "Restaurant inspections", "Health", ("Food",), "public", "grade"),
        ("aaaa-0003", "Street trees", "Environment", ("trees", "roads"), "public", "species"),
        ("aaaa-0004", "Budget 100% funded", "Finance", (), "internal", "amount"),
        ("aaaa-0005", "Payroll", "Finance", ("staff",), "private", "salary"),
    ]
    for dataset_id, title, category, tags, audience, column in entries:
        metadata = DatasetMetadata(
            title=title,
            description=f"{title} reported by the city",
            category=category,
            tags=tags,
            audience=audience,
        )
        import_table(
            engine, table([(column, "text")], [("x",)]), metadata=metadata, dataset_id=dataset_id
        )


def ids(engine, **kwargs) -> tuple[list[str], int]:
    with engine.connect() as conn:
        page, total = search_datasets(conn, **kwargs)
    return [d.id for d in page], total


def test_default_search_lists_public_datasets_by_title(engine, catalog):
    assert ids(engine) == (["aaaa-0001", "aaaa-0002", "aaaa-0003"], 3)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("POTHOLE", ["aaaa-0001"]),  # title, any case
        ("reported", ["aaaa-0001", "aaaa-0002", "aaaa-0003"]),  # description
        ("environment", ["aaaa-0003"]),  # category
        ("food", ["aaaa-0002"]),  # tag
        ("species", ["aaaa-0003"]),  # column name
        ("species trees", ["aaaa-0003"]),  # every word must match
        ("species pothole", []),
        ("roads", ["aaaa-0001", "aaaa-0003"]),
        ("nothing-like-this", []),
        ("potholes", ["aaaa-0001"]),  # read as the catalog page reads it: plurals,
        ("restaraunt", ["aaaa-0002"]),  # typos
        ("payroll", []),  # private
    ],
)
def test_q_matches_text_fields_and_columns(engine, catalog, q, expected):
    assert ids(engine, q=q) == (expected, len(expected))


def test_title_matches_rank_first(engine, catalog):
    # 'street' is in the title of aaaa-0003 and only in the category of aaaa-0001
    assert ids(engine, q="street")[0] == ["aaaa-0003", "aaaa-0001"]


def test_like_wildcards_in_q_are_literal(engine, catalog):
    assert ids(engine, q="100%", scope=None) == (["aaaa-0004"], 1)
    assert ids(engine, q="100_", scope=None) == ([], 0)  # '_' is a word character
    assert ids(engine, q="%", scope=None)[1] == 5  # no words: everything


def test_category_tag_and_audience_filters(engine, catalog):
    assert ids(engine, categories=["streets", "HEALTH"])[0] == ["aaaa-0001", "aaaa-0002"]
    assert ids(engine, tags=["ROADS"])[0] == ["aaaa-0001", "aaaa-0003"]
    assert ids(engine, tags=["roads"], categories=["Streets"])[0] == ["aaaa-0001"]
    assert ids(engine, scope=ReadScope(("internal", "private")))[0] == ["aaaa-0004", "aaaa-0005"]
    assert ids(engine, scope=None)[1] == 5
    assert ids(engine, scope=ReadScope(())) == ([], 0)
    assert ids(engine, scope=None, ids=["aaaa-0005", "zzzz-0000"]) == (["aaaa-0005"], 1)


def test_paging_has_exact_totals(engine, catalog):
    pages = [ids(engine, scope=None, limit=2, offset=offset) for offset in (0, 2, 4, 6)]
    assert [total for _, total in pages] == [5, 5, 5, 5]
    assert [len(page) for page, _ in pages] == [2, 2, 1, 0]
    assert len({i for page, _ in pages for i in page}) == 5


def test_facet_counts(engine, catalog):
    with engine.connect() as conn:
        public = facet_counts(conn)
        everything = facet_counts(conn, scope=None)
    assert public.categories == [("Environment", 1), ("Health", 1), ("Streets", 1)]
    assert public.tags == [("roads", 2), ("311", 1), ("Food", 1), ("trees", 1)]
    assert public.types == [("table", 3)]
    assert everything.categories[0] == ("Finance", 2)


def test_records_carry_columns(engine, catalog):
    page, _ = search_datasets_in(engine, q="grade")
    assert [c.field_name for c in page[0].columns] == ["grade"]
    with engine.connect() as conn, pytest.raises(NotFound, match="Dataset 'nope-0000' not found"):
        get_dataset(conn, "nope-0000")


def search_datasets_in(engine, **kwargs):
    with engine.connect() as conn:
        return search_datasets(conn, **kwargs)


def search_datasets(conn, **kwargs):
    """The Discovery API's call: (page, total), 100 a page unless told otherwise."""
    page = search_catalog(conn, CatalogQuery(**{"limit": 100, "facets": False, **kwargs}))
    return page.records, page.total


def facet_counts(conn, **kwargs):
    return search_catalog(conn, CatalogQuery(limit=0, **kwargs)).facets
