"""Meaning of a parsed query against one dataset: names, aliases, types, grouping (soda.md §3).

The analyzer resolves every identifier (aliases first, then columns), types every expression
(converting literals where the context asks, §3.6), names every output column as Socrata does
(§3.4) and enforces the grouping rules (§3.5). Every problem is an InvalidQuery with the SODA
error code and the position in the parameter it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from civicport.datastore.tables import SYSTEM_COLUMNS, SYSTEM_TYPES, TableSchema
from civicport.errors import InvalidQuery
from civicport.soql import ast
from civicport.soql import soqltypes as st
from civicport.soql.functions import FUNCTIONS, Function, Signature, display_name
from civicport.soql.typed import TCall, TColumn, TExpr, TLiteral, contains_aggregate

_LITERALS = (ast.StringLit, ast.NumberLit, ast.BoolLit, ast.NullLit)
_KEYWORD_OPERATORS = {
    "#and": ("and",),
    "#or": ("or",),
    "#not": ("not",),
    "#is_null": ("is", "null"),
    "#is_not_null": ("is", "not", "null"),
    "#between": ("between", "and"),
    "#not_between": ("not", "between", "and"),
    "#in": ("in",),
    "#not_in": ("not", "in"),
    "#like": ("like",),
    "#not_like": ("not", "like"),
}
_CASTS = {
    (st.NUMBER, st.DOUBLE): "#to_double",
    (st.DOUBLE, st.NUMBER): "#to_number",
    (st.TEXT, st.NUMBER): "#to_number",
    (st.TEXT, st.DOUBLE): "#to_double",
}


@dataclass(frozen=True)
class Output:
    name: str
    expr: TExpr


@dataclass(frozen=True)
class Ordering:
    expr: TExpr
    ascending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Analysis:
    """A query whose every part is typed and checked, ready for SQL generation."""

    outputs: tuple[Output, ...]
    distinct: bool = False
    where: TExpr | None = None
    group_by: tuple[TExpr, ...] = ()
    having: TExpr | None = None
    order_by: tuple[Ordering, ...] = ()
    grouped: bool = False
    search: str | None = None
    limit: int | None = None
    offset: int | None = None


def _error(code: str, message: str, pos: ast.Position | None = None, **data: Any) -> InvalidQuery:
    if pos is not None:
        data["position"] = pos.as_dict()
        message = f"{message} at line {pos.line}, column {pos.column}"
    return InvalidQuery(message, code=f"query.soql.{code}", data=data)


def implicit_alias_base(expr: ast.Expr) -> str:
    """Socrata's implicit name: the expression's words joined by '_' (`max(x)` → `max_x`)."""
    text = "_".join(_alias_words(expr)).lower()
    text = re.sub(r"\W+", "_", text)
    text = re.sub(r"_+", "_", text).strip("_")
    if not text or not text[0].isalpha():
        text = "_" + text
    return text


def _alias_words(expr: ast.Expr) -> Iterator[str]:
    if isinstance(expr, ast.ColumnRef):
        yield expr.name.lstrip(":@")
    elif isinstance(expr, ast.StringLit):
        yield expr.value
    elif isinstance(expr, ast.NumberLit):
        yield expr.text
    elif isinstance(expr, ast.BoolLit):
        yield "true" if expr.value else "false"
    elif isinstance(expr, ast.NullLit):
        yield "null"
    elif isinstance(expr, ast.Cast):
        yield from _alias_words(expr.expr)
        yield expr.type_name
    elif isinstance(expr, ast.FunctionCall):
        keywords = _KEYWORD_OPERATORS.get(expr.name)
        if expr.name.startswith(ast.FIELD_PREFIX):  # `opened.year` → opened_year
            yield from _alias_words(expr.args[0])
            yield expr.name.removeprefix(ast.FIELD_PREFIX)
        elif not expr.name.startswith("#"):
            yield expr.name
            if expr.distinct:
                yield "distinct"
            for arg in expr.args:
                yield from _alias_words(arg)
        elif keywords is None:  # symbolic operators leave no word
            for arg in expr.args:
                yield from _alias_words(arg)
        elif len(expr.args) == 1 and expr.name == "#not":
            yield "not"
            yield from _alias_words(expr.args[0])
        else:
            yield from _alias_words(expr.args[0])
            rest = list(expr.args[1:])
            yield from keywords[:-1] if keywords[-1] == "and" else keywords
            for i, arg in enumerate(rest):
                if i and keywords[-1] == "and":
                    yield "and"
                yield from _alias_words(arg)


def has_aggregate(expr: ast.Expr) -> bool:
    """Whether an expression calls an aggregate (by name: before any analysis)."""
    if isinstance(expr, ast.FunctionCall):
        function = FUNCTIONS.get(expr.name)
        if expr.star or (function is not None and function.aggregate):
            return True
        return any(has_aggregate(a) for a in expr.args)
    if isinstance(expr, ast.Cast):
        return has_aggregate(expr.expr)
    return False


@dataclass
class _Context:
    """Where an expression is being analyzed, for aggregate rules and error messages."""

    clause: str  # 'SELECT', 'WHERE', 'GROUP BY', 'HAVING', 'ORDER BY'
    in_aggregate: str | None = None
    expanding: list[str] = field(default_factory=list)


class Analyzer:
    """Analyzes one query against one dataset schema."""

    def __init__(self, schema: TableSchema):
        self.schema = schema
        self.columns: dict[str, TColumn] = {
            name: TColumn(SYSTEM_TYPES[name], name, (physical,))
            for name, physical in SYSTEM_COLUMNS.items()
        }
        for column in schema.columns:
            self.columns[column.field_name] = TColumn(
                column.soda_type, column.field_name, tuple(column.physical)
            )
        self.aliases: dict[str, ast.Expr] = {}

    # ---- the whole query
    def analyze(self, query: ast.Query, filters: tuple[tuple[str, str], ...] = ()) -> Analysis:
        """Check and type `query`; `filters` are the simple `field=value` filters."""
        select = query.select
        grouped_by_params = bool(query.group_by) or query.having is not None
        if select is None:
            if grouped_by_params or any(has_aggregate(o.expr) for o in query.order_by):
                # soda.md §2.5: no $select but $group → the group-by exprs and count(*).
                count = ast.FunctionCall("count", (), star=True)
                select = ast.SelectList(
                    selections=tuple(ast.Selection(g) for g in query.group_by)
                    + (ast.Selection(count),)
                )
            else:
                select = ast.SelectList(user_star=ast.Star())
        named = self._name_selections(select)

        outputs = tuple(
            Output(name, self.expr(expr, _Context("SELECT"), alias=alias))
            for name, expr, alias in named
        )
        where = self._where(query.where, filters)
        group_by = tuple(self._group_expr(g) for g in query.group_by)
        having = None
        if query.having is not None:
            having = self.expr(query.having, _Context("HAVING"))
            self._require_boolean(having, "non-boolean-having", "HAVING", query.having)
        order_by = tuple(self._ordering(o) for o in query.order_by)

        grouped = (
            bool(group_by)
            or having is not None
            or any(contains_aggregate(o.expr) for o in outputs)
            or any(contains_aggregate(o.expr) for o in order_by)
        )
        if grouped:
            self._check_grouped(outputs, order_by, having, group_by, named, query)
        if select.distinct:
            selected = {o.expr for o in outputs}
            for ordering, source in zip(order_by, query.order_by, strict=True):
                if ordering.expr not in selected:
                    raise _error(
                        "order-by-not-selected",
                        "With DISTINCT, every ORDER BY expression must be selected",
                        ast.position_of(source.expr),
                    )
        return Analysis(
            outputs=outputs,
            distinct=select.distinct,
            where=where,
            group_by=group_by,
            having=having,
            order_by=order_by,
            grouped=grouped,
            search=query.search,
            limit=query.limit,
            offset=query.offset,
        )

    def _where(self, where: ast.Expr | None, filters: tuple[tuple[str, str], ...]) -> TExpr | None:
        parts: list[TExpr] = []
        if where is not None:
            typed = self.expr(where, _Context("WHERE"))
            self._require_boolean(typed, "non-boolean-where", "WHERE", where)
            parts.append(typed)
        for field_name, value in filters:
            parts.append(self._filter(field_name, value))
        if not parts:
            return None
        result = parts[0]
        for part in parts[1:]:
            result = TCall(st.CHECKBOX, "#and", (result, part))
        return result

    def _filter(self, field_name: str, value: str) -> TExpr:
        """`?field=value`: the value is a string literal converted to the column's type."""
        column = self.columns.get(field_name)
        if column is None:
            raise _error("no-such-column", f"No such column: {field_name}", None, column=field_name)
        equality = ast.FunctionCall("#=", (ast.ColumnRef(field_name), ast.StringLit(value)))
        return self.expr(equality, _Context("WHERE"))

    def _group_expr(self, expr: ast.Expr) -> TExpr:
        typed = self.expr(expr, _Context("GROUP BY"))
        if typed.type not in st.ORDERED | {st.POINT}:
            raise _error(
                "non-groupable-group-by",
                f"Cannot group by a value of type `{typed.type}`",
                ast.position_of(expr),
            )
        return typed

    def _ordering(self, ordering: ast.Ordering) -> Ordering:
        typed = self.expr(ordering.expr, _Context("ORDER BY"))
        if typed.type not in st.ORDERED:
            raise _error(
                "unorderable-order-by",
                f"Cannot order by a value of type `{typed.type}`",
                ast.position_of(ordering.expr),
            )
        return Ordering(typed, ordering.ascending, ordering.nulls_last)

    @staticmethod
    def _require_boolean(typed: TExpr, code: str, clause: str, source: ast.Expr) -> None:
        if typed.type != st.CHECKBOX:
            raise _error(
                code,
                f"{clause} must be a boolean expression, not `{typed.type}`",
                ast.position_of(source),
            )

    # ---- select list and names (§3.4)
    def _name_selections(self, select: ast.SelectList) -> list[tuple[str, ast.Expr, str | None]]:
        """(output name, expression, alias being defined) for every selected column."""
        items: list[tuple[str | None, ast.Expr, ast.Position]] = []
        if select.system_star is not None:
            excluded = self._exceptions(select.system_star, SYSTEM_COLUMNS)
            items += [
                (n, ast.ColumnRef(n), ast.NOWHERE) for n in SYSTEM_COLUMNS if n not in excluded
            ]
        if select.user_star is not None:
            names = [c.field_name for c in self.schema.columns]
            excluded = self._exceptions(select.user_star, names)
            items += [(n, ast.ColumnRef(n), ast.NOWHERE) for n in names if n not in excluded]
        for selection in select.selections:
            expr = selection.expr
            if selection.alias is not None:
                items.append((selection.alias, expr, selection.alias_pos))
            elif isinstance(expr, ast.ColumnRef) and not expr.parenthesized:
                items.append((expr.name, expr, expr.pos))
            else:
                items.append((None, expr, ast.position_of(expr)))

        taken: set[str] = set()
        for name, _expr, pos in items:
            if name is None:
                continue
            if name in taken:
                raise _error("duplicate-alias", f"Duplicate alias: {name}", pos, alias=name)
            taken.add(name)
        # Explicit aliases are visible everywhere (and to each other), implicit ones too.
        for selection in select.selections:
            if selection.alias is not None:
                self.aliases[selection.alias] = selection.expr
        avoid = taken | set(self.columns)
        named: list[tuple[str, ast.Expr, str | None]] = []
        for name, expr, _pos in items:
            if name is None:
                name = self._fresh_name(implicit_alias_base(expr), avoid)
                avoid.add(name)
                self.aliases[name] = expr
                named.append((name, expr, name))
            else:
                named.append((name, expr, name if name in self.aliases else None))
        return named

    @staticmethod
    def _fresh_name(base: str, avoid: set[str]) -> str:
        if base not in avoid:
            return base
        n = 1
        while f"{base}_{n}" in avoid:
            n += 1
        return f"{base}_{n}"

    def _exceptions(self, star: ast.Star, names: Any) -> set[str]:
        excluded: set[str] = set()
        for name, pos in star.exceptions:
            if name in excluded:
                raise _error(
                    "repeated-exception", f"Column {name} excluded twice", pos, column=name
                )
            if name not in names:
                raise _error("no-such-column", f"No such column: {name}", pos, column=name)
            excluded.add(name)
        return excluded

    # ---- expressions
    def expr(self, node: ast.Expr, ctx: _Context, alias: str | None = None) -> TExpr:
        """The typed form of one expression; `alias` is the name it defines, if any."""
        if alias is not None:
            ctx.expanding.append(alias)
            try:
                return self.expr(node, ctx)
            finally:
                ctx.expanding.pop()
        if isinstance(node, _LITERALS):
            return self._literal(node, None)
        if isinstance(node, ast.ColumnRef):
            return self._column(node, ctx)
        if isinstance(node, ast.Cast):
            return self._cast(node, ctx)
        assert isinstance(node, ast.FunctionCall)
        return self._call(node, ctx)

    def _column(self, node: ast.ColumnRef, ctx: _Context) -> TExpr:
        name = node.name
        target = self.aliases.get(name)
        if target is not None and not (isinstance(target, ast.ColumnRef) and target.name == name):
            if name in ctx.expanding:
                # `upper(name) AS name` reads the column; a longer loop is an error.
                if ctx.expanding[-1] == name and name in self.columns:
                    return self.columns[name]
                raise _error(
                    "circular-alias-definition",
                    f"Circular reference to alias {name}",
                    node.pos,
                    alias=name,
                )
            return self.expr(target, ctx, alias=name)
        column = self.columns.get(name)
        if column is None:
            raise _error("no-such-column", f"No such column: {name}", node.pos, column=name)
        return column

    def _cast(self, node: ast.Cast, ctx: _Context) -> TExpr:
        target = st.CAST_NAMES.get(node.type_name)
        if target is None:
            raise _error("no-such-type", f"No such type: {node.type_name}", node.pos)
        if isinstance(node.expr, _LITERALS):
            return self._literal(node.expr, target, pos=node.pos)
        inner = self.expr(node.expr, ctx)
        if inner.type == target:
            return inner
        if target == st.TEXT and inner.type not in st.GEO:
            return TCall(st.TEXT, "#to_text", (inner,))
        function = _CASTS.get((inner.type, target))
        if function is None:
            raise _error(
                "type-mismatch",
                f"Cannot cast a value of type `{inner.type}` to `{target}`",
                node.pos,
            )
        return TCall(target, function, (inner,))

    def _literal(
        self, node: ast.Expr, target: str | None, *, pos: ast.Position | None = None
    ) -> TLiteral:
        """A literal as `target` (or its natural type); type-mismatch when it does not parse."""
        try:
            return _convert_literal(node, target or _natural_type(node), cast=pos is not None)
        except st.NotConvertible:
            raise _error(
                "type-mismatch",
                f"Cannot convert {_show(node)} to `{target}`",
                pos or ast.position_of(node),
            ) from None

    # ---- function calls and overloads (§3.6)
    def _call(self, node: ast.FunctionCall, ctx: _Context) -> TExpr:
        name = node.name
        if node.star:
            name = "#count_star" if name == "count" else f"{name}(*)"
        elif node.distinct:
            name = f"{name}_distinct"
        function = FUNCTIONS.get(name)
        shown = display_name(name)
        if function is None:
            kind = "field" if name.startswith(ast.FIELD_PREFIX) else "function"
            raise _error(
                "no-such-function",
                f"No such {kind} `{shown}`",
                node.pos,
                function=shown,
            )
        if function.aggregate:
            if ctx.in_aggregate is not None:
                raise self._ungrouped(name, f"inside {ctx.in_aggregate}", node.pos)
            if ctx.clause in ("WHERE", "GROUP BY"):
                raise self._ungrouped(name, ctx.clause, node.pos)
            ctx.in_aggregate = shown
        try:
            args = [a if isinstance(a, _LITERALS) else self.expr(a, ctx) for a in node.args]
        finally:
            if function.aggregate:
                ctx.in_aggregate = None
        return self._resolve(function, node, args)

    @staticmethod
    def _ungrouped(name: str, where: str, pos: ast.Position) -> InvalidQuery:
        return _error(
            "aggregate-in-ungrouped-context",
            f"Aggregate function `{display_name(name)}` used in ungrouped context: {where}",
            pos,
            function=display_name(name),
        )

    def _resolve(self, function: Function, node: ast.FunctionCall, args: list[Any]) -> TExpr:
        candidates = [s for s in function.signatures if s.accepts_arity(len(args))]
        shown = display_name(function.name)
        if not candidates:
            raise _error(
                "no-such-function",
                f"No such function `{shown}/{len(args)}`",
                node.pos,
                function=shown,
            )
        for index in function.literal_args:
            if index < len(args) and not isinstance(args[index], _LITERALS):
                raise _error(
                    "type-mismatch",
                    f"Argument {index + 1} of `{shown}` must be a literal value "
                    "(a quoted text such as WKT or a time zone name), not a column or expression",
                    ast.position_of(node.args[index]),
                )
        best: tuple[int, TCall] | None = None
        first_failure: InvalidQuery | None = None
        for signature in candidates:
            try:
                cost, call = self._bind(function, signature, node, args)
            except InvalidQuery as exc:
                first_failure = first_failure or exc
                continue
            if best is None or cost < best[0]:
                best = (cost, call)
        if best is None:
            assert first_failure is not None
            raise first_failure
        return best[1]

    def _bind(
        self, function: Function, signature: Signature, node: ast.FunctionCall, args: list[Any]
    ) -> tuple[int, TCall]:
        shown = display_name(function.name)
        var = self._type_variable(signature, args)
        if var is not None and var not in signature.of:
            index = next(i for i, _ in enumerate(args) if signature.param_at(i) == "T")
            raise self._mismatch(var, shown, node, index)
        cost = 0
        typed: list[TExpr] = []
        for index, arg in enumerate(args):
            spec = signature.param_at(index)
            target = var if spec == "T" else None if spec == "*" else spec
            if isinstance(arg, _LITERALS):
                try:
                    literal = _convert_literal(arg, target or _natural_type(arg))
                except st.NotConvertible:
                    detail = f": {_show(arg)} is not a valid {target}"
                    raise self._mismatch(_natural_type(arg), shown, node, index, detail) from None
                if not isinstance(arg, ast.NullLit) and literal.type != _natural_type(arg):
                    cost += 1
                typed.append(literal)
            elif target is not None and arg.type != target:
                raise self._mismatch(arg.type, shown, node, index)
            else:
                typed.append(arg)
        result = var if signature.result == "T" else signature.result
        assert result is not None
        return cost, TCall(result, function.name, tuple(typed), function.aggregate)

    @staticmethod
    def _type_variable(signature: Signature, args: list[Any]) -> str | None:
        """What T is for this call: the typed arguments agree on it, or literals suggest it."""
        positions = [i for i in range(len(args)) if signature.param_at(i) == "T"]
        if not positions:
            return None
        typed: list[str] = [args[i].type for i in positions if not isinstance(args[i], _LITERALS)]
        if typed:
            return typed[0]  # a disagreeing argument fails in _bind, at its own position
        naturals = [
            _natural_type(args[i]) for i in positions if not isinstance(args[i], ast.NullLit)
        ]
        for natural in naturals:
            if natural in signature.of:
                return natural
        # Only literals that don't fit naturally (e.g. '5' + '6'): try the constraint's types.
        for preferred in (st.NUMBER, st.TEXT, st.CHECKBOX, st.FLOATING, st.FIXED):
            if preferred in signature.of:
                return preferred
        return naturals[0] if naturals else st.TEXT

    @staticmethod
    def _mismatch(
        type_name: str, shown: str, node: ast.FunctionCall, index: int, detail: str = ""
    ) -> InvalidQuery:
        return _error(
            "type-mismatch",
            f"Cannot pass a value of type `{type_name}` to function `{shown}`{detail}",
            ast.position_of(node.args[index]),
            function=shown,
            type=type_name,
        )

    # ---- grouping (§3.5)
    def _check_grouped(
        self,
        outputs: tuple[Output, ...],
        order_by: tuple[Ordering, ...],
        having: TExpr | None,
        group_by: tuple[TExpr, ...],
        named: list[tuple[str, ast.Expr, str | None]],
        query: ast.Query,
    ) -> None:
        groups = set(group_by)
        checks: list[tuple[TExpr, ast.Expr | None]] = [
            (o.expr, source) for o, (_n, source, _a) in zip(outputs, named, strict=True)
        ]
        checks += [(o.expr, s.expr) for o, s in zip(order_by, query.order_by, strict=True)]
        if having is not None:
            checks.append((having, query.having))
        for typed, source in checks:
            bad = _ungrouped_column(typed, groups)
            if bad is not None:
                pos = _find_column(source, bad.name) if source is not None else None
                raise _error(
                    "column-not-in-group-bys",
                    f"Column `{bad.name}` is not in the GROUP BY and not aggregated",
                    pos,
                    column=bad.name,
                )


def _ungrouped_column(expr: TExpr, groups: set[TExpr]) -> TColumn | None:
    if expr in groups or isinstance(expr, TLiteral):
        return None
    if isinstance(expr, TColumn):
        return expr
    assert isinstance(expr, TCall)
    if expr.aggregate:
        return None
    for arg in expr.args:
        bad = _ungrouped_column(arg, groups)
        if bad is not None:
            return bad
    return None


def _find_column(expr: ast.Expr, name: str) -> ast.Position:
    """Where column `name` is mentioned in `expr` (or where `expr` starts, via an alias)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ColumnRef) and node.name == name:
            return node.pos
        if isinstance(node, ast.FunctionCall):
            stack.extend(reversed(node.args))
        elif isinstance(node, ast.Cast):
            stack.append(node.expr)
    return ast.position_of(expr)


def _convert_literal(node: ast.Expr, wanted: str, *, cast: bool = False) -> TLiteral:
    """A literal node as a value of type `wanted`; `cast` (`x::text`) also allows text."""
    if isinstance(node, ast.NullLit):
        return TLiteral(wanted, None)
    if isinstance(node, ast.StringLit):
        return TLiteral(wanted, st.convert_string(node.value, wanted))
    if cast and wanted == st.TEXT:
        return TLiteral(st.TEXT, _show(node))
    if isinstance(node, ast.NumberLit) and wanted in st.NUMERIC:
        return TLiteral(wanted, st.convert_number(node.text, wanted))
    if isinstance(node, ast.BoolLit) and wanted == st.CHECKBOX:
        return TLiteral(st.CHECKBOX, node.value)
    raise st.NotConvertible(_show(node))


def _natural_type(node: ast.Expr) -> str:
    if isinstance(node, ast.NumberLit):
        return st.NUMBER
    if isinstance(node, ast.BoolLit):
        return st.CHECKBOX
    return st.TEXT


def _show(node: ast.Expr) -> str:
    if isinstance(node, ast.StringLit):
        return "'" + node.value.replace("'", "''") + "'"
    if isinstance(node, ast.NumberLit):
        return node.text
    return str(getattr(node, "value", "null")).lower()
