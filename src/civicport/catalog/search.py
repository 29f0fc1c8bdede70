"""Catalog search as SQL: which datasets match a query and filters, and in what order.

Matching is case-insensitive substring search (LIKE on lower-cased text, so both dialects
behave alike) over title, description, category, tags, and column names and descriptions.
Every word of `q` must match somewhere. Ranking: the whole query in the title first, then a
word in the title, then the rest; ties by title. Good enough for a city's few hundred datasets;
a full-text index can replace it behind the same functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from civicport.db.schema import dataset_columns, datasets


def like_pattern(text: str) -> str:
    """'%text%' for LIKE ... ESCAPE '\\', lower-cased, with the wildcards in `text` escaped."""
    escaped = re.sub(r"([\\%_])", r"\\\1", text.lower())
    return f"%{escaped}%"


def _contains(expr: sa.ColumnElement[Any], pattern: str) -> sa.ColumnElement[bool]:
    return sa.func.lower(expr).like(pattern, escape="\\")


def _tags_text(dialect: str) -> sa.ColumnElement[Any]:
    # The JSON array as text: good enough to find a word inside any tag.
    if dialect == "postgresql":
        return sa.cast(datasets.c.tags, sa.Text)
    return sa.type_coerce(datasets.c.tags, sa.Text)


def _word_matches(word: str, dialect: str) -> sa.ColumnElement[bool]:
    pattern = like_pattern(word)
    in_columns = (
        sa.select(sa.literal(1))
        .where(dataset_columns.c.dataset_id == datasets.c.id)
        .where(
            sa.or_(
                _contains(dataset_columns.c.field_name, pattern),
                _contains(dataset_columns.c.display_name, pattern),
                _contains(dataset_columns.c.description, pattern),
            )
        )
        .exists()
    )
    return sa.or_(
        _contains(datasets.c.title, pattern),
        _contains(datasets.c.description, pattern),
        _contains(sa.func.coalesce(datasets.c.category, ""), pattern),
        _contains(_tags_text(dialect), pattern),
        in_columns,
    )


def _has_any_tag(tags: Sequence[str], dialect: str) -> sa.ColumnElement[bool]:
    wanted = [t.lower() for t in tags]
    if dialect == "postgresql":
        elements = sa.func.json_array_elements_text(datasets.c.tags).table_valued("value")
    else:
        elements = sa.func.json_each(datasets.c.tags).table_valued("value")
    return (
        sa.select(sa.literal(1))
        .select_from(elements)
        .where(sa.func.lower(elements.c.value).in_(wanted))
        .exists()
    )


def search_filter(
    *,
    dialect: str,
    q: str | None,
    categories: Sequence[str],
    tags: Sequence[str],
    audiences: Sequence[str] | None,
    ids: Sequence[str] | None,
) -> sa.ColumnElement[bool]:
    """The WHERE clause. Categories and tags each match any of the values given (exactly, case
    aside); `audiences=None` or `ids=None` do not filter, empty sequences match nothing."""
    clauses: list[sa.ColumnElement[bool]] = [
        _word_matches(word, dialect) for word in (q or "").split()
    ]
    if categories:
        wanted = [c.lower() for c in categories]
        clauses.append(sa.func.lower(datasets.c.category).in_(wanted))
    if tags:
        clauses.append(_has_any_tag(tags, dialect))
    if audiences is not None:
        clauses.append(datasets.c.audience.in_(list(audiences)))
    if ids is not None:
        clauses.append(datasets.c.id.in_(list(ids)))
    return sa.and_(sa.true(), *clauses)


def search_order(q: str | None) -> list[sa.ColumnElement[Any]]:
    """ORDER BY terms: relevance-ish rank, then title, then id (a total order, for paging)."""
    order: list[sa.ColumnElement[Any]] = []
    words = (q or "").split()
    if words:
        title = datasets.c.title
        rank = sa.case(
            (_contains(title, like_pattern(" ".join(words))), 0),
            (sa.or_(*[_contains(title, like_pattern(w)) for w in words]), 1),
            else_=2,
        )
        order.append(rank)
    order += [sa.func.lower(datasets.c.title), datasets.c.id]
    return order
