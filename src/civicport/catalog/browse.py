"""The catalog as the web catalog page searches it: words, filters, facets, sorts and pages.

One call answers a whole page: the datasets of this page, how many match in all, facet counts
over every match, and what the words were taken to mean, so the page can say "also searched for
restaurant" instead of silently showing something else.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa

from civicport.catalog.records import DatasetRecord
from civicport.catalog.search import (
    PUBLIC_SCOPE,
    SORTS,
    ReadScope,
    search_filter,
    search_order,
)
from civicport.catalog.store import Facets, count_matching, dataset_page, matching_facets
from civicport.catalog.vocabulary import read_query
from civicport.errors import InvalidQuery


@dataclass(frozen=True)
class CatalogQuery:
    """A catalog search. Filters match any of their values (case aside) and combine with AND;
    `scope` is the access policy's answer for the reader (None: no filter)."""

    q: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    types: tuple[str, ...] = ()  # "table" | "map"
    scope: ReadScope | None = PUBLIC_SCOPE
    sort: str = "relevance"  # one of catalog.search.SORTS
    limit: int = 20
    offset: int = 0
    ids: Collection[str] | None = None  # only these datasets (the Discovery API's `ids`)
    # False skips counting facets (the page gets empty ones): a list that needs only its
    # datasets and total, like the home page's second list or the sitemap.
    facets: bool = True


@dataclass(frozen=True)
class CatalogPage:
    """One page of a catalog search."""

    records: list[DatasetRecord]
    total: int  # all matches, not just this page
    facets: Facets  # over all matches
    words: tuple[str, ...]  # the query words searched, normalised (lower case, singular)
    corrections: dict[str, tuple[str, ...]]  # a word found nowhere → the words searched instead


def search_catalog(conn: sa.Connection, query: CatalogQuery) -> CatalogPage:
    """Search the catalog; InvalidQuery for an unknown sort or a negative limit or offset.

    >>> search_catalog(conn, CatalogQuery(q="restaraunt", types=("map",)))  # doctest: +SKIP
    CatalogPage(records=[...], total=3, ..., corrections={'restaraunt': ('restaurant',)})
    """
    _check(query)
    reading = read_query(conn, query.q, query.scope)
    dialect = conn.dialect.name
    where = search_filter(
        dialect=dialect,
        categories=query.categories,
        tags=query.tags,
        departments=query.departments,
        types=query.types,
        scope=query.scope,
        ids=_both(reading.dataset_ids, query.ids),
    )
    if query.facets:
        facets, total = matching_facets(conn, where)
    else:
        facets, total = Facets([], [], [], []), count_matching(conn, where)
    records: list[DatasetRecord] = []
    if query.limit and query.offset < total:
        order = search_order(query.sort, reading.terms, dialect)
        records = dataset_page(conn, where, order, limit=query.limit, offset=query.offset)
    return CatalogPage(records, total, facets, reading.words, reading.corrections)


def _both(
    matching: Collection[str] | None, wanted: Collection[str] | None
) -> Collection[str] | None:
    """The ids in both limits (None is no limit)."""
    if matching is None or wanted is None:
        return wanted if matching is None else matching
    return set(matching).intersection(wanted)


def _check(query: CatalogQuery) -> None:
    if query.sort not in SORTS:
        raise InvalidQuery(f"Unknown sort '{query.sort[:40]}'; use one of {', '.join(SORTS)}")
    for name in ("limit", "offset"):
        if getattr(query, name) < 0:
            raise InvalidQuery(f"The {name} must be 0 or more, not {getattr(query, name)}")
