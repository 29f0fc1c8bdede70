"""Catalog search as SQL: which datasets pass the filters and the access rule, in what order.

Which datasets match the words is decided on their cached text (catalog.vocabulary) and arrives
here as ids; everything else (categories, departments, tags, types, read scope, order, paging)
is SQL, so it is always as current as the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from civicport.datastore.types import GEOMETRY_TYPES
from civicport.db.schema import dataset_columns, datasets

# A dataset with a column of one of these types can be drawn on a map.
MAP_SODA_TYPES = GEOMETRY_TYPES | {"location"}
SORTS = ("relevance", "updated", "views", "name")


def like_pattern(text: str) -> str:
    """'%text%' for LIKE ... ESCAPE '\\', lower-cased, with the wildcards in `text` escaped."""
    escaped = re.sub(r"([\\%_])", r"\\\1", text.lower())
    return f"%{escaped}%"


def _contains(expr: sa.ColumnElement[Any], pattern: str) -> sa.ColumnElement[bool]:
    return sa.func.lower(expr).like(pattern, escape="\\")


def _elements(array: sa.ColumnElement[Any], dialect: str) -> sa.TableValuedAlias:
    """A JSON array's elements as text, as rows of one column, `value`."""
    if dialect == "postgresql":
        return sa.func.json_array_elements_text(array).table_valued("value")
    return sa.func.json_each(array).table_valued("value")


def _has_any_tag(tags: Sequence[str], dialect: str) -> sa.ColumnElement[bool]:
    elements = _elements(datasets.c.tags, dialect)
    wanted = [t.lower() for t in tags]
    return (
        sa.select(sa.literal(1))
        .select_from(elements)
        .where(sa.func.lower(elements.c.value).in_(wanted))
        .exists()
    )


def _among(ids: Collection[str], dialect: str) -> sa.ColumnElement[bool]:
    """Datasets whose id is one of `ids`, sent as one JSON parameter: a search may match more
    datasets than a statement may have parameters."""
    array = sa.bindparam(None, sorted(ids), type_=sa.JSON)
    return datasets.c.id.in_(sa.select(_elements(array, dialect).c.value))


def is_map() -> sa.ColumnElement[bool]:
    """True for a dataset of type "map" (a geometry column), false for a "table". Not
    correlated, so the database finds the map datasets once per query, not once per row."""
    with_geometry = sa.select(dataset_columns.c.dataset_id).where(
        dataset_columns.c.soda_type.in_(sorted(MAP_SODA_TYPES))
    )
    return datasets.c.id.in_(with_geometry)


def has_charts() -> sa.ColumnElement[bool]:
    """True for a dataset with saved charts: it is also of type "chart"."""
    return sa.func.json_array_length(datasets.c.charts) > 0


def _of_types(types: Sequence[str]) -> sa.ColumnElement[bool]:
    # Like an unknown category, an unknown type matches nothing.
    wanted = {t.lower() for t in types}
    clauses = []
    if "map" in wanted:
        clauses.append(is_map())
    if "table" in wanted:
        clauses.append(sa.not_(is_map()))
    if "chart" in wanted:
        clauses.append(has_charts())
    return sa.or_(sa.false(), *clauses)


def _lower_in(column: sa.ColumnElement[Any], values: Sequence[str]) -> sa.ColumnElement[bool]:
    return sa.func.lower(column).in_([v.lower() for v in values])


@dataclass(frozen=True)
class ReadScope:
    """The datasets a reader may list, as the access policy (auth.policy) decides: those whose
    audience is one of `audiences` (None: any), and besides them the ones in `dataset_ids`."""

    audiences: tuple[str, ...] | None
    dataset_ids: frozenset[str] = frozenset()

    def key(self) -> tuple[Any, ...]:
        """A hashable, order-free identity (cache keys)."""
        audiences = None if self.audiences is None else tuple(sorted(set(self.audiences)))
        return (audiences, tuple(sorted(self.dataset_ids)))


PUBLIC_SCOPE = ReadScope(("public",))


def scope_filter(scope: ReadScope | None) -> sa.ColumnElement[bool]:
    """Datasets in `scope`; None does not filter."""
    if scope is None or scope.audiences is None:
        return sa.true()
    clause = datasets.c.audience.in_(list(scope.audiences))
    if scope.dataset_ids:
        clause = sa.or_(clause, datasets.c.id.in_(sorted(scope.dataset_ids)))
    return clause


def search_filter(
    *,
    dialect: str,
    categories: Sequence[str] = (),
    tags: Sequence[str] = (),
    departments: Sequence[str] = (),
    types: Sequence[str] = (),
    scope: ReadScope | None,
    ids: Collection[str] | None = None,
) -> sa.ColumnElement[bool]:
    """The WHERE clause. Categories, tags, departments and types ("table", "map", "chart") match any
    of the values given (exactly, case aside); empty ones do not filter. `scope=None` or
    `ids=None` do not filter; an empty scope or ids match nothing."""
    clauses = []
    if categories:
        clauses.append(_lower_in(datasets.c.category, categories))
    if departments:
        clauses.append(_lower_in(datasets.c.department, departments))
    if tags:
        clauses.append(_has_any_tag(tags, dialect))
    if types:
        clauses.append(_of_types(types))
    clauses.append(scope_filter(scope))
    if ids is not None:
        clauses.append(_among(ids, dialect))
    return sa.and_(sa.true(), *clauses)


def search_order(
    sort: str, terms: Sequence[Sequence[str]], dialect: str
) -> list[sa.ColumnElement[Any]]:
    """ORDER BY terms for one of SORTS, then title and id (a total order, for paging).

    relevance: the whole query in the title, then any term in the title, then the rest (with no
    terms, the same as name); updated: latest change to data or metadata first; views: most
    viewed first; name: title alone.
    """
    first: dict[str, list[sa.ColumnElement[Any]]] = {
        "relevance": _relevance(terms),
        "updated": [_last_update(dialect).desc()],
        "views": [datasets.c.view_count.desc()],
        "name": [],
    }
    return [*first[sort], sa.func.lower(datasets.c.title), datasets.c.id]


def _relevance(terms: Sequence[Sequence[str]]) -> list[sa.ColumnElement[Any]]:
    if not terms:
        return []
    title = datasets.c.title
    # A term's first string is the word itself or, for a typo, its closest correction.
    phrase = " ".join(term[0] for term in terms)
    rank = sa.case(
        (_contains(title, like_pattern(phrase)), 0),
        (sa.or_(*[_contains(title, like_pattern(text)) for term in terms for text in term]), 1),
        else_=2,
    )
    return [rank]


def _last_update(dialect: str) -> sa.ColumnElement[Any]:
    # SQLite's two-argument max() is PostgreSQL's greatest().
    greatest = sa.func.greatest if dialect == "postgresql" else sa.func.max
    return greatest(datasets.c.data_updated_at, datasets.c.metadata_updated_at)
