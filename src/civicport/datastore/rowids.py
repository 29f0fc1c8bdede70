"""How a row's system id (`:id`) looks outside: 'row-' and the integer in base 32.

Socrata's ids look like 'row-xxxx.xxxx~xxxx' and clients treat them as opaque strings; ours
are shorter but just as opaque, and decode back to the integer that orders rows.
"""

from __future__ import annotations

_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


def format_row_id(number: int) -> str:
    digits = []
    while True:
        number, rem = divmod(number, 32)
        digits.append(_ALPHABET[rem])
        if not number:
            break
    return "row-" + "".join(reversed(digits))


def parse_row_id(text: str) -> int | None:
    """The integer behind 'row-…' (or a plain integer string); None when it is neither."""
    if text.isdigit():
        return int(text)
    if not text.startswith("row-") or len(text) < 5:
        return None
    number = 0
    for ch in text[4:]:
        if ch not in _INDEX:
            return None
        number = number * 32 + _INDEX[ch]
    return number
