"""The SODA query-string parameters of one request, as the compiler takes them.

`$`-parameters are matched case-insensitively (RSocrata sends `$LIMIT`); `$$…` parameters and
`$jsonp` belong to the API layer; any other `$`-name is an error; plain names are simple
`field=value` filters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from civicport.errors import InvalidQuery

_CLAUSES = ("select", "where", "order", "group", "having", "limit", "offset", "q", "query")
_API_PARAMS = {"jsonp"}  # handled by the API layer, like every `$$` parameter


@dataclass(frozen=True)
class SodaParams:
    """SoQL clauses given as separate parameters (or one `$query`) plus simple filters."""

    select: str | None = None
    where: str | None = None
    order: str | None = None
    group: str | None = None
    having: str | None = None
    limit: str | None = None
    offset: str | None = None
    q: str | None = None
    query: str | None = None
    filters: tuple[tuple[str, str], ...] = ()  # simple `field=value` filters, in order

    @classmethod
    def from_query_items(cls, items: Iterable[tuple[str, str]]) -> SodaParams:
        """Gather the query string's (name, value) pairs, in order.

        Example: [("$LIMIT", "5"), ("ward", "3")] → SodaParams(limit="5", filters=(("ward", "3"),))
        """
        clauses: dict[str, str] = {}
        filters: list[tuple[str, str]] = []
        for name, value in items:
            if not name.startswith("$"):
                filters.append((name, value))
                continue
            if name.startswith("$$"):
                continue
            key = name[1:].lower()
            if key in _API_PARAMS:
                continue
            if key not in _CLAUSES:
                raise InvalidQuery(
                    f"Unknown parameter `{name}`; SoQL parameters are "
                    + ", ".join(f"${c}" for c in _CLAUSES),
                    code="query.compiler.malformed",
                    data={"parameter": name},
                )
            if key in clauses:
                raise InvalidQuery(
                    f"Parameter `${key}` is given more than once",
                    code="query.compiler.malformed",
                    data={"parameter": name},
                )
            clauses[key] = value
        if "query" in clauses and len(clauses) > 1:
            others = ", ".join(f"${c}" for c in clauses if c != "query")
            raise InvalidQuery(
                f"`$query` cannot be combined with {others}; put those clauses in the $query",
                code="query.compiler.malformed",
                data={"parameter": "$query"},
            )
        return cls(**clauses, filters=tuple(filters))
