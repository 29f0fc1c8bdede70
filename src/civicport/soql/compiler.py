"""SODA parameters → one SQL statement with bound parameters, for SQLite or PostgreSQL.

`compile_query` is the single entry point every reader of rows uses. Its result is cached per
(parameters, schema): both are frozen, so a repeated request costs a dictionary lookup.

Beyond a literal translation the compiler picks forms that keep pages cheap (BASELINE.md
"Findings"): `$order=:id&$offset=N` on a table whose ids are dense becomes an id seek; `$q`
ordered by id walks the FTS index in rowid order so SQLite stops at the page; and a grouped
query over category-like columns reads the dataset's summary table (soql/summary.py).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from civicport.datastore import fulltext
from civicport.datastore.tables import TableSchema
from civicport.soql import ast
from civicport.soql import soqltypes as st
from civicport.soql.analyzer import Analysis, Analyzer, Ordering
from civicport.soql.params import SodaParams
from civicport.soql.parser import (
    parse_expr,
    parse_group,
    parse_integer,
    parse_order,
    parse_query,
    parse_select,
)
from civicport.soql.sqlgen import TABLE_ALIAS, Emitter, quote
from civicport.soql.summary import use_summary
from civicport.soql.typed import TCall, TColumn, TExpr, contains_aggregate, walk

# Predicates that are never true when their direct arguments are null: a row that passes
# WHERE has non-null values there, so ORDER BY need not say where nulls go (which lets SQLite
# read an index in order instead of sorting).
_NULL_REJECTING = {
    "#=", "#!=", "#<", "#<=", "#>", "#>=", "#between", "#in", "#like",
    "#is_not_null", "starts_with", "contains",
}  # fmt: skip


_DISTINCT_ALIAS = "d"


@dataclass(frozen=True)
class OutputColumn:
    name: str  # output key, e.g. "count" or "n" or "neighborhood" or ":id"
    soda_type: str  # "text", "number", "checkbox", …, "row_identifier" (for :id)
    width: int = 1  # how many SQL result columns carry it (2 for a point: lon, lat)


@dataclass(frozen=True)
class CompiledQuery:
    sql: str  # DBAPI paramstyle of the dialect: SQLite ':name', PostgreSQL '%(name)s'
    params: dict[str, Any]
    columns: tuple[OutputColumn, ...]


def compile_query(
    params: SodaParams, schema: TableSchema, *, default_limit: int = 1000
) -> CompiledQuery:
    """Compile SODA parameters against a dataset's schema; raises InvalidQuery.

    >>> q = compile_query(SodaParams(where="ward = '3'"), schema)
    >>> conn.exec_driver_sql(q.sql, q.params).fetchall()
    """
    cached = _compile(params, schema, default_limit)
    # Each caller gets its own params dict; the cached one must stay as compiled.
    return dataclasses.replace(cached, params=dict(cached.params))


@functools.lru_cache(maxsize=2048)
def _compile(params: SodaParams, schema: TableSchema, default_limit: int) -> CompiledQuery:
    analysis = Analyzer(schema).analyze(_gather(params), params.filters)
    summarized = use_summary(analysis, schema.summary)
    if summarized is not None and schema.summary is not None:
        return _Builder(schema, summarized, default_limit, schema.summary.table_name).build()
    return _Builder(schema, analysis, default_limit, schema.table_name).build()


def _gather(params: SodaParams) -> ast.Query:
    """One ast.Query from `$query` or from the separate clause parameters."""
    if params.query is not None:
        return parse_query(params.query)
    return ast.Query(
        select=parse_select(params.select) if params.select is not None else None,
        where=parse_expr(params.where, "$where") if params.where is not None else None,
        group_by=parse_group(params.group) if params.group is not None else (),
        having=parse_expr(params.having, "$having") if params.having is not None else None,
        order_by=parse_order(params.order) if params.order is not None else (),
        search=params.q,
        limit=parse_integer(params.limit, "$limit") if params.limit is not None else None,
        offset=parse_integer(params.offset, "$offset") if params.offset is not None else None,
    )


class _Builder:
    """Assembles the SQL statement from an Analysis."""

    def __init__(
        self, schema: TableSchema, analysis: Analysis, default_limit: int, table_name: str
    ):
        self.schema = schema
        self.table_name = table_name  # the data table, or its summary (see soql.summary)
        self.a = analysis
        self.e = Emitter(schema.dialect)
        self.limit = default_limit if analysis.limit is None else analysis.limit
        self.search_terms = (
            fulltext.search_terms(analysis.search) if analysis.search is not None else []
        )
        self.fts = (
            schema.fts_table
            if self.search_terms and not self.e.pg and schema.fts_table is not None
            else None
        )

    def build(self) -> CompiledQuery:
        e = self.e
        select_sql, columns = self._select_list()
        source = self.schema.source_sql
        table = (
            f"({source}) AS {TABLE_ALIAS}"
            if source
            else f"{quote(self.table_name)} AS {TABLE_ALIAS}"
        )
        if self.fts is not None:
            from_sql = (
                f"{quote(self.fts)} JOIN {table} ON {e.column('_id')} = {quote(self.fts)}.rowid"
            )
        else:
            from_sql = table
        conditions = []
        if self.a.where is not None:
            conditions.append(e.sql(self.a.where))
        conditions += self._search_conditions()
        seek = self._seek_start()
        if seek is not None:
            conditions.append(f"{e.column('_id')} >= {e.bind(seek, st.ROW_ID)}")

        parts = [f"SELECT {'DISTINCT ' if self.a.distinct else ''}{select_sql}", f"FROM {from_sql}"]
        if conditions:
            parts.append("WHERE " + " AND ".join(conditions))
        if self.a.group_by:
            parts.append("GROUP BY " + ", ".join(self._group_keys()))
        elif self._needs_explicit_group():
            parts.append("GROUP BY NULL")
        if self.a.having is not None:
            parts.append("HAVING " + e.sql(self.a.having))
        if self.a.distinct:
            parts = [f"SELECT * FROM ({' '.join(parts)}) AS {_DISTINCT_ALIAS}"]
        order = self._order_by()
        if order:
            parts.append("ORDER BY " + ", ".join(order))
        parts.append(f"LIMIT {e.bind(self.limit, st.ROW_ID)}")
        if self.a.offset and seek is None:
            parts.append(f"OFFSET {e.bind(self.a.offset, st.ROW_ID)}")
        return CompiledQuery(" ".join(parts), e.params, columns)

    def _needs_explicit_group(self) -> bool:
        """HAVING with no GROUP BY makes one group of all rows. SQLite accepts that only when
        the selected columns aggregate; otherwise it must be told to group, by a constant."""
        if self.e.pg or self.a.having is None:
            return False
        return not any(contains_aggregate(o.expr) for o in self.a.outputs)

    def _group_keys(self) -> list[str]:
        keys = [v for g in self.a.group_by for v in self.e.values(g)]
        if self.e.pg or self._columns_used() <= _columns_of(self.a.group_by):
            return keys
        # SQLite would walk an index on the group key to skip the sort, then fetch every row
        # by rowid: twice as slow as one scan and a sort when other columns are needed.
        # `+(…)` is the same value, but no longer a plain column an index can serve.
        return [f"+({k})" for k in keys]

    def _columns_used(self) -> set[str]:
        exprs = [o.expr for o in self.a.outputs] + [o.expr for o in self.a.order_by]
        return _columns_of(x for x in (*exprs, self.a.where, self.a.having) if x is not None)

    def _select_list(self) -> tuple[str, tuple[OutputColumn, ...]]:
        sql: list[str] = []
        columns: list[OutputColumn] = []
        for index, output in enumerate(self.a.outputs):
            values = self.e.values(output.expr)
            if len(values) == 1:
                sql.append(f"{values[0]} AS c{index}")
            else:
                sql += [f"{values[0]} AS c{index}_lon", f"{values[1]} AS c{index}_lat"]
            columns.append(OutputColumn(output.name, output.expr.type, len(values)))
        return ", ".join(sql), tuple(columns)

    def _search_conditions(self) -> list[str]:
        if not self.search_terms:
            return []
        e = self.e
        text_columns = [c.field_name for c in self.schema.columns if c.soda_type == st.TEXT]
        assert self.a.search is not None
        if e.pg:
            document = fulltext.pg_document(text_columns, TABLE_ALIAS)
            return [f"{document} @@ plainto_tsquery('english', {e.bind(self.a.search, st.TEXT)})"]
        if self.fts is not None:
            match = fulltext.sqlite_match_expression(self.a.search)
            return [f"{quote(self.fts)} MATCH {e.bind(match, st.TEXT)}"]
        # No FTS index: each term must appear (any case) in some text column.
        if not text_columns:
            return ["0 = 1"]
        conditions = []
        for term in self.search_terms:
            pattern = e.bind("%" + term.replace("\\", "\\\\").replace("_", "\\_") + "%", st.TEXT)
            matches = " OR ".join(f"{e.column(c)} LIKE {pattern} ESCAPE '\\'" for c in text_columns)
            conditions.append(f"({matches})")
        return conditions

    def _plain_id_order(self) -> bool:
        """No $order, or exactly `:id` ascending."""
        order = self.a.order_by
        if not order:
            return True
        return len(order) == 1 and _is_id(order[0].expr) and order[0].ascending

    def _seek_start(self) -> int | None:
        """The first id of the page when `$offset` can be an id seek instead of a scan."""
        a = self.a
        if not (a.offset and self.schema.ids_dense and self._plain_id_order()):
            return None
        if a.where is not None or a.search is not None or a.grouped or a.distinct:
            return None
        return self.schema.min_row_id + a.offset

    def _order_by(self) -> list[str]:
        a, e = self.a, self.e
        id_sql = f"{quote(self.fts)}.rowid" if self.fts is not None else e.column("_id")

        def key(expr: TExpr) -> str:
            if a.distinct:
                # DISTINCT is a subquery: order by its output columns (PostgreSQL would
                # reject an ORDER BY expression, such as a COLLATE, that is not selected).
                index = next(i for i, o in enumerate(a.outputs) if o.expr == expr)
                return e.collate(f"{_DISTINCT_ALIAS}.c{index}", expr.type)
            if _is_id(expr):
                return id_sql
            return e.collate(e.sql(expr), expr.type)

        if a.order_by:
            non_null = set(_non_null(a.where))
            keys = [_order_key(o, key(o.expr), non_null) for o in a.order_by]
            if not a.grouped and not a.distinct and not any(_is_id(o.expr) for o in a.order_by):
                # A total order, so pages never overlap; same direction keeps indexes usable.
                keys.append(f"{id_sql} {'ASC' if a.order_by[-1].ascending else 'DESC'}")
            return keys
        if a.distinct:
            defaults = [Ordering(o.expr, True, True) for o in a.outputs]
        elif a.grouped:
            defaults = [Ordering(g, True, True) for g in a.group_by]
        else:
            return [f"{id_sql} ASC"]
        return [_order_key(o, key(o.expr), set()) for o in defaults if o.expr.type != st.POINT]


def _order_key(ordering: Ordering, key: str, non_null: set[TExpr]) -> str:
    direction = "ASC" if ordering.ascending else "DESC"
    if _is_id(ordering.expr) or ordering.expr in non_null:
        return f"{key} {direction}"
    return f"{key} {direction} NULLS {'LAST' if ordering.nulls_last else 'FIRST'}"


def _is_id(expr: TExpr) -> bool:
    return isinstance(expr, TColumn) and expr.name == ":id"


def _non_null(where: TExpr | None) -> Iterator[TExpr]:
    """Expressions that a row passing `where` cannot have null (from its AND-ed conjuncts)."""
    if not isinstance(where, TCall):
        return
    if where.function == "#and":
        for arg in where.args:
            yield from _non_null(arg)
    elif where.function in _NULL_REJECTING:
        yield from where.args


def _columns_of(exprs: Iterable[TExpr]) -> set[str]:
    return {
        physical
        for expr in exprs
        for node in walk(expr)
        if isinstance(node, TColumn)
        for physical in node.physical
    }
