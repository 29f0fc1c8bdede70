"""SoQL text → syntax tree (soql/ast.py), with Socrata-style syntax errors.

One LALR parser (built once) serves every SODA parameter through its own start symbol. Every
syntax error becomes InvalidQuery(code="query.compiler.malformed") naming the parameter, the
line and column, what was expected and what was found.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from importlib.resources import files
from typing import Any, cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from civicport.errors import InvalidQuery
from civicport.soql import ast

MALFORMED = "query.compiler.malformed"

# Words that can never be a bare column name (SoQL's reserved list); backticks still allow them.
RESERVED = frozenset(
    [
        "select",
        "distinct",
        "except",
        "as",
        "where",
        "group",
        "having",
        "order",
        "limit",
        "offset",
        "search",
        "asc",
        "desc",
        "filter",
        "from",
        "full",
        "in",
        "inner",
        "join",
        "left",
        "right",
        "on",
        "outer",
        "lateral",
        "and",
        "or",
        "not",
        "is",
        "between",
        "like",
        "true",
        "false",
        "null",
        "by",
        "union",
        "intersect",
        "minus",
        "all",
    ]
)

_BINARY_OPS = {
    "or": "#or",
    "and": "#and",
    "==": "#=",
    "=": "#=",
    "!=": "#!=",
    "<>": "#!=",
    "<": "#<",
    "<=": "#<=",
    ">": "#>",
    ">=": "#>=",
    "+": "#+",
    "-": "#-",
    "||": "#||",
    "*": "#*",
    "/": "#/",
    "%": "#%",
    "^": "#^",
}
_UNARY_OPS = {"not": "#not", "-": "#neg", "+": "#pos"}

_STARTS = ("query", "select_list", "order_list", "expr_list", "expr")

# Tokens that can begin an expression: when most of them are expected, say "an expression".
_EXPRESSION_STARTS = {
    "IDENT",
    "QUOTED_IDENT",
    "SYSTEM_NAME",
    "STRING",
    "DQ_STRING",
    "INTEGER",
    "DECIMAL",
    "TRUE",
    "FALSE",
    "NULL",
    "CASE",
    "NOT",
    "MINUS",
    "PLUS",
    "LPAR",
}
_TOKEN_WORDS = {
    "IDENT": "an identifier",
    "QUOTED_IDENT": "an identifier",
    "SYSTEM_NAME": "a system identifier",
    "STRING": "a string",
    "DQ_STRING": "a string",
    "INTEGER": "an integer",
    "DECIMAL": "a number",
    "DIRECTION": "`ASC`, `DESC`",
    "COMPARE": "a comparison operator",
    "$END": "end of input",
}
_DQ_ESCAPES = {
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    '"': '"',
    "\\": "\\",
    "/": "/",
}
_DQ_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{6}|.)", re.DOTALL)


@functools.cache
def _lark() -> Lark:
    grammar = files("civicport.soql").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        start=list(_STARTS),
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"IDENT": _reserve},
        cache=True,  # the parse table is built once per grammar version, not per process
    )


def _reserve(token: Token) -> Token:
    """Reserved words are keywords everywhere, so `where x = limit 5` fails at `limit`."""
    word = token.value.lower()
    return Token.new_borrow_pos(word.upper(), token.value, token) if word in RESERVED else token


def _malformed(message: str, parameter: str, text: str, line: int, column: int) -> InvalidQuery:
    return InvalidQuery(
        f"{message} at line {line}, column {column}",
        code=MALFORMED,
        data={"parameter": parameter, "query": text, "position": {"line": line, "column": column}},
    )


def _describe_expected(expected: set[str]) -> str:
    names = set(expected)
    words: list[str] = []
    if len(names & _EXPRESSION_STARTS) >= 5:
        words.append("an expression")
        names -= _EXPRESSION_STARTS
    terminals = {t.name: t for t in _lark().terminals}
    for name in sorted(names):
        if name in _TOKEN_WORDS:
            words.append(_TOKEN_WORDS[name])
        elif name in terminals and terminals[name].pattern.type == "str":
            words.append(f"`{terminals[name].pattern.value.upper()}`")
        else:
            words.append(f"`{name.lower()}`")
    words = list(dict.fromkeys(words))
    if len(words) == 1:
        return words[0]
    return "one of " + ", ".join(words)


def _syntax_error(exc: UnexpectedInput, parameter: str, text: str) -> InvalidQuery:
    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        hint = " (unterminated string?)" if char in "'\"" else ""
        return _malformed(f"Unexpected character `{char}`{hint}", parameter, text, line, column)
    if isinstance(exc, UnexpectedEOF):
        expected = _describe_expected(set(exc.expected))
        line, column = _end_position(text)
        return _malformed(
            f"Expected {expected}, but got end of input", parameter, text, line, column
        )
    assert isinstance(exc, UnexpectedToken)
    # LALR states over-approximate what may follow; ask the parser what it really accepts.
    parser = exc.interactive_parser
    accepted = parser.accepts() if parser else exc.expected  # type: ignore[no-untyped-call]
    expected = _describe_expected(set(accepted))
    if exc.token.type == "$END":
        line, column = _end_position(text)
        got = "end of input"
    else:
        got = f"`{exc.token.value}`"
    return _malformed(f"Expected {expected}, but got {got}", parameter, text, line, column)


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _position(item: Any) -> ast.Position:
    if isinstance(item, Token):
        return ast.Position(item.line or 1, item.column or 1)
    return ast.Position(getattr(item, "line", 1) or 1, getattr(item, "column", 1) or 1)


class _SyntaxProblem(Exception):
    """Raised inside the transformer; turned into a malformed-query error with the position."""

    def __init__(self, message: str, pos: ast.Position):
        super().__init__(message)
        self.message = message
        self.pos = pos


def canonical_name(token: Token) -> str:
    """An identifier as SoQL compares it: lowercase; in backticks, '-' is the same as '_'."""
    text = str(token)
    if token.type == "QUOTED_IDENT":
        return text[1:-1].replace("-", "_").lower()
    return text.lower()


def _system_name(token: Token) -> str:
    text = str(token)[1:]
    if text.startswith("`"):
        text = text[1:-1].replace("-", "_")
    return ":" + text.lower()


def _string_value(token: Token) -> str:
    return str(token)[1:-1].replace("''", "'")


def _dq_string_value(token: Token) -> str:
    def unescape(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "uU" and len(code) > 1:
            value = int(code[1:], 16)
            if value > 0x10FFFF:
                raise _SyntaxProblem("Unicode character out of range", _position(token))
            return chr(value)
        if code in _DQ_ESCAPES:
            return _DQ_ESCAPES[code]
        raise _SyntaxProblem(f"Unexpected escape `\\{code}` in string", _position(token))

    return _DQ_ESCAPE.sub(unescape, str(token)[1:-1])


@v_args(meta=True)
class _ToAst(Transformer[Token, Any]):
    """Lark tree → ast nodes. Methods are named after grammar rules and aliases."""

    # ---- literals and names
    def string(self, meta: Any, children: list[Token]) -> ast.Expr:
        return ast.StringLit(_string_value(children[0]), _position(children[0]))

    def dq_string(self, meta: Any, children: list[Token]) -> ast.Expr:
        return ast.StringLit(_dq_string_value(children[0]), _position(children[0]))

    def number(self, meta: Any, children: list[Token]) -> ast.Expr:
        return ast.NumberLit(str(children[0]), _position(children[0]))

    def true(self, meta: Any, children: list[Token]) -> ast.Expr:
        return ast.BoolLit(True, _position(children[0]))

    def false(self, meta: Any, children: list[Token]) -> ast.Expr:
        return ast.BoolLit(False, _position(children[0]))

    def null(self, meta: Any, children: list[Token]) -> ast.Expr:
        return ast.NullLit(_position(children[0]))

    def name(self, meta: Any, children: list[Token]) -> Token:
        token = children[0]
        return token.update(value=canonical_name(token))

    def column(self, meta: Any, children: list[Token]) -> ast.Expr:
        return ast.ColumnRef(str(children[0]), _position(children[0]))

    def system_column(self, meta: Any, children: list[Token]) -> ast.Expr:
        return ast.ColumnRef(_system_name(children[0]), _position(children[0]))

    def paren(self, meta: Any, children: list[ast.Expr]) -> ast.Expr:
        inner = children[0]
        if isinstance(inner, ast.ColumnRef):
            return dataclasses.replace(inner, parenthesized=True)
        return inner

    # ---- operators
    def binary(self, meta: Any, children: list[Any]) -> ast.Expr:
        left, op, right = children
        name = _BINARY_OPS[str(op).lower()]
        return ast.FunctionCall(name, (left, right), pos=_position(op))

    def unary(self, meta: Any, children: list[Any]) -> ast.Expr:
        op, operand = children
        if str(op) == "-" and isinstance(operand, ast.NumberLit):
            # A negative number is a literal, so it converts like one: within_circle(…, -72.6, …).
            text = operand.text[1:] if operand.text.startswith("-") else "-" + operand.text
            return ast.NumberLit(text, _position(op))
        return ast.FunctionCall(_UNARY_OPS[str(op).lower()], (operand,), pos=_position(op))

    def _postfix(self, name: str, meta: Any, args: list[Any]) -> ast.Expr:
        operands = tuple(a for a in args if not isinstance(a, Token))
        return ast.FunctionCall(name, operands, pos=ast.position_of(operands[0]))

    def is_null(self, meta: Any, children: list[Any]) -> ast.Expr:
        return self._postfix("#is_null", meta, children)

    def is_not_null(self, meta: Any, children: list[Any]) -> ast.Expr:
        return self._postfix("#is_not_null", meta, children)

    def between(self, meta: Any, children: list[Any]) -> ast.Expr:
        return self._postfix("#between", meta, children)

    def not_between(self, meta: Any, children: list[Any]) -> ast.Expr:
        return self._postfix("#not_between", meta, children)

    def in_list(self, meta: Any, children: list[Any]) -> ast.Expr:
        subject, _in, items = children
        return ast.FunctionCall("#in", (subject, *items), pos=ast.position_of(subject))

    def not_in_list(self, meta: Any, children: list[Any]) -> ast.Expr:
        subject, _not, _in, items = children
        return ast.FunctionCall("#not_in", (subject, *items), pos=ast.position_of(subject))

    def like(self, meta: Any, children: list[Any]) -> ast.Expr:
        return self._postfix("#like", meta, children)

    def not_like(self, meta: Any, children: list[Any]) -> ast.Expr:
        return self._postfix("#not_like", meta, children)

    def cast(self, meta: Any, children: list[Any]) -> ast.Expr:
        expr, op, type_name = children
        return ast.Cast(expr, str(type_name), _position(op))

    def field(self, meta: Any, children: list[Any]) -> ast.Expr:
        """`opened.year`, `location.latitude`: a field of a value, analyzed as a function."""
        expr, dot, field_name = children
        return ast.FunctionCall(ast.field_function(str(field_name)), (expr,), pos=_position(dot))

    # ---- function calls
    def args(self, meta: Any, children: list[ast.Expr]) -> dict[str, Any]:
        return {"args": tuple(children)}

    def star_arg(self, meta: Any, children: list[Token]) -> dict[str, Any]:
        return {"args": (), "star": True}

    def distinct_arg(self, meta: Any, children: list[Any]) -> dict[str, Any]:
        return {"args": (children[1],), "distinct": True}

    def function_call(self, meta: Any, children: list[Any]) -> ast.Expr:
        name, arguments = children
        return ast.FunctionCall(str(name), pos=_position(name), **(arguments or {"args": ()}))

    def case_call(self, meta: Any, children: list[Any]) -> ast.Expr:
        keyword, arguments = children
        return ast.FunctionCall("case", pos=_position(keyword), **(arguments or {"args": ()}))

    def case_when(self, meta: Any, children: list[Any]) -> ast.Expr:
        # CASE WHEN c THEN v ... [ELSE e] END ≡ case(c, v, ..., true, e), as Socrata desugars it.
        keyword = children[0]
        parts = [c for c in children[1:] if isinstance(c, ast.Expr)]
        else_given = any(isinstance(c, Token) and c.type == "ELSE" for c in children)
        if else_given:
            *pairs, default = parts
            parts = [*pairs, ast.BoolLit(True, _position(keyword)), default]
        return ast.FunctionCall("case", tuple(parts), pos=_position(keyword))

    # ---- select list
    def system_name(self, meta: Any, children: list[Token]) -> Token:
        token = children[0]
        return token.update(value=_system_name(token))

    def except_list(self, meta: Any, children: list[Any]) -> tuple[tuple[str, ast.Position], ...]:
        return tuple((str(t), _position(t)) for t in children[1:])

    def system_star(self, meta: Any, children: list[Any]) -> Any:
        return ("system_star", ast.Star(children[1] or ()), _position(children[0]))

    def user_star(self, meta: Any, children: list[Any]) -> Any:
        return ("user_star", ast.Star(children[1] or ()), _position(children[0]))

    def selection(self, meta: Any, children: list[Any]) -> Any:
        expr, _as, alias = children
        if alias is None:
            return ast.Selection(expr)
        return ast.Selection(expr, str(alias), _position(alias))

    def select_list(self, meta: Any, children: list[Any]) -> ast.SelectList:
        distinct, *items = children
        system_star = user_star = None
        selections: list[ast.Selection] = []
        for item in items:
            if isinstance(item, ast.Selection):
                selections.append(item)
                continue
            kind, star, pos = item
            if selections:
                raise _SyntaxProblem(
                    "Star selections must come at the start of the select-list", pos
                )
            if kind == "system_star":
                if user_star is not None:
                    raise _SyntaxProblem(
                        "System column star selections must come before user column star "
                        "selections",
                        pos,
                    )
                if system_star is not None:
                    raise _SyntaxProblem("`:*` is selected twice", pos)
                system_star = star
            else:
                if user_star is not None:
                    raise _SyntaxProblem("`*` is selected twice", pos)
                user_star = star
        return ast.SelectList(distinct is not None, system_star, user_star, tuple(selections))

    # ---- ordering
    def nulls(self, meta: Any, children: list[Token]) -> bool:
        return str(children[1]).lower() == "last"

    def ordering(self, meta: Any, children: list[Any]) -> ast.Ordering:
        expr, direction, nulls_last = children
        ascending = direction is None or str(direction).lower() == "asc"
        # Socrata's parser: nulls last when ascending, first when descending, unless stated.
        return ast.Ordering(expr, ascending, ascending if nulls_last is None else nulls_last)

    def order_list(self, meta: Any, children: list[ast.Ordering]) -> tuple[ast.Ordering, ...]:
        return tuple(children)

    def expr_list(self, meta: Any, children: list[ast.Expr]) -> tuple[ast.Expr, ...]:
        return tuple(children)

    # ---- statement
    def where(self, meta: Any, children: list[Any]) -> Any:
        return ("where", children[1])

    def group_by(self, meta: Any, children: list[Any]) -> Any:
        return ("group_by", children[2])

    def having(self, meta: Any, children: list[Any]) -> Any:
        return ("having", children[1])

    def order_by(self, meta: Any, children: list[Any]) -> Any:
        return ("order_by", children[2])

    def search(self, meta: Any, children: list[Token]) -> Any:
        token = children[1]
        value = _string_value(token) if token.type == "STRING" else _dq_string_value(token)
        return ("search", value)

    def limit(self, meta: Any, children: list[Token]) -> Any:
        return ("limit", int(children[1]))

    def offset(self, meta: Any, children: list[Token]) -> Any:
        return ("offset", int(children[1]))

    def _pair(self, meta: Any, children: list[Any]) -> list[Any]:
        return list(children)

    order_then_search = search_then_order = limit_then_offset = offset_then_limit = _pair

    def query(self, meta: Any, children: list[Any]) -> ast.Query:
        clauses: dict[str, Any] = {}
        for child in children[2:]:
            if child is None:
                continue
            for key, value in child if isinstance(child, list) else [child]:
                clauses[key] = value
        return ast.Query(select=children[1], **clauses)


def _parse(text: str, start: str, parameter: str) -> Any:
    try:
        tree = _lark().parse(text, start=start)
        return _ToAst().transform(tree)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, parameter, text) from None
    except _SyntaxProblem as exc:
        raise _malformed(exc.message, parameter, text, exc.pos.line, exc.pos.column) from None
    except Exception as exc:  # lark wraps transformer errors in VisitError
        inner = getattr(exc, "orig_exc", None)
        if isinstance(inner, _SyntaxProblem):
            raise _malformed(
                inner.message, parameter, text, inner.pos.line, inner.pos.column
            ) from None
        raise


def parse_query(text: str) -> ast.Query:
    """A whole `$query` statement."""
    return cast(ast.Query, _parse(text, "query", "$query"))


def parse_select(text: str) -> ast.SelectList:
    """The text of `$select`."""
    return cast(ast.SelectList, _parse(text, "select_list", "$select"))


def parse_expr(text: str, parameter: str = "$where") -> ast.Expr:
    """One expression: `$where`, `$having`."""
    return cast(ast.Expr, _parse(text, "expr", parameter))


def parse_order(text: str) -> tuple[ast.Ordering, ...]:
    """The text of `$order`."""
    return cast(tuple[ast.Ordering, ...], _parse(text, "order_list", "$order"))


def parse_group(text: str) -> tuple[ast.Expr, ...]:
    """The text of `$group`."""
    return cast(tuple[ast.Expr, ...], _parse(text, "expr_list", "$group"))


def parse_integer(text: str, parameter: str) -> int:
    """`$limit` / `$offset`: digits only (no sign, no fraction), as Socrata requires."""
    stripped = text.strip()
    if not stripped.isascii() or not stripped.isdigit():
        column = len(text) - len(text.lstrip()) + 1
        raise _malformed(
            f"Expected a non-negative integer, but got `{stripped}`", parameter, text, 1, column
        )
    return int(stripped)
