"""Column display names → API field names, the way Socrata derives `fieldName`.

A field name is a SoQL identifier: lowercase ASCII letters, digits and `_`, not starting with a
digit. "Inspection Date" → inspection_date, "PERMIT#" → permit, "2019 Total" → _2019_total.
Names are unique within a dataset (a clash gets `_1`, `_2`…) and at most 58 characters: a
point column is stored as two physical columns `{field}__lon`/`{field}__lat`, and PostgreSQL
truncates identifiers at 63 characters, which would make those two the same.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

MAX_LENGTH = 58
_NON_WORD = re.compile(r"[^a-z0-9]+")


def field_name(display_name: str) -> str:
    """The field name for one display name, before making it unique; "" if nothing is left.

    >>> field_name("Café Name (2019)")
    'cafe_name_2019'
    """
    # Fold accents ("Café" → "cafe") so non-English headers keep their letters.
    ascii_text = (
        unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode("ascii")
    )
    name = _NON_WORD.sub("_", ascii_text.lower()).strip("_")
    if name[:1].isdigit():
        name = "_" + name
    return name[:MAX_LENGTH].rstrip("_") if len(name) > MAX_LENGTH else name


def unique_name(base: str, taken: set[str]) -> str:
    """`base`, or `base_1`, `base_2`… — the first not in `taken` (which it is then added to)."""
    name = base
    n = 0
    while name in taken:
        n += 1
        suffix = f"_{n}"
        name = base[: MAX_LENGTH - len(suffix)] + suffix
    taken.add(name)
    return name


def name_columns(headers: Sequence[str], reserved: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(field_name, display_name) for each header, in order.

    Display names are the headers with surrounding spaces removed; a blank header becomes
    "Column N" (its 1-based position) and a repeated one "Name (2)", "Name (3)"… so every
    column can be told apart in the catalog. Field names avoid `reserved`.

    >>> name_columns(["Name", "", "Name"])
    [('name', 'Name'), ('column_2', 'Column 2'), ('name_1', 'Name (2)')]
    """
    taken_fields = set(reserved)
    seen_displays: dict[str, int] = {}
    named = []
    for position, header in enumerate(headers, start=1):
        display = " ".join(str(header).split())
        if not display:
            display = f"Column {position}"
        count = seen_displays.get(display.lower(), 0) + 1
        seen_displays[display.lower()] = count
        if count > 1:
            display = f"{display} ({count})"
        base = field_name(display if count == 1 else str(header)) or f"column_{position}"
        named.append((unique_name(base, taken_fields), display))
    return named
