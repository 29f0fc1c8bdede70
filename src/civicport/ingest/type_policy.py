"""What happens to cells that do not fit the type a person chose for their column.

A type is chosen with `--type`, or kept from the dataset when a load replaces its rows. The
first pass (infer.scan) counts, per chosen column, the cells that do not fit and notes the
first; then the column's policy decides:

    reject  (the default) refuse the load, naming the first bad cell and how many more
    null    load those cells empty, and say so in a warning
    text    read the whole column as text, and say so in a warning

    settle(misfits, names, types, {2: "null"})  # Settlement(nulled={2}, warnings=[...])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from civicport.errors import InvalidUpload
from civicport.ingest.chunks import Chunk, quoted_cell
from civicport.ingest.values import TYPE_NOUNS, misfit_indexes, not_a

TYPE_POLICIES = ("reject", "null", "text")
REJECT, NULL, TEXT = TYPE_POLICIES


def check_policy(column: str, policy: object) -> str:
    """`policy` if it is one of TYPE_POLICIES; InvalidUpload naming the column otherwise."""
    if policy not in TYPE_POLICIES:
        raise InvalidUpload(
            f"The policy for values that do not fit column {column} must be one of "
            f"{', '.join(TYPE_POLICIES)}, not {policy!r}."
        )
    return str(policy)


@dataclass(frozen=True)
class Misfits:
    """Cells of one column that do not fit its chosen type: how many, and the first of them."""

    count: int
    row: int  # the first one's data row, counted from 1
    cell: str  # the first one, quoted for a message
    reason: str  # why it does not fit: 'is not a date'

    def then(self, later: Misfits | None) -> Misfits:
        """These misfits followed by those of a later chunk."""
        if later is None:
            return self
        return Misfits(self.count + later.count, self.row, self.cell, self.reason)


def find_misfits(chunk: Chunk, column: Sequence[object], soda_type: str) -> Misfits | None:
    """The cells of one column of `chunk` that do not fit `soda_type`, or None if all do."""
    indexes = misfit_indexes(soda_type, column)
    if not indexes:
        return None
    first = indexes[0]
    return Misfits(
        len(indexes), chunk.row_number(first), quoted_cell(column[first]), not_a(soda_type)
    )


@dataclass(frozen=True)
class Settlement:
    """What the policies made of the misfits: columns read as text instead of their chosen
    type, columns whose misfits load empty, and what to tell the publisher."""

    as_text: frozenset[int] = frozenset()
    nulled: frozenset[int] = frozenset()
    warnings: list[str] = field(default_factory=list)


def settle(
    misfits: Sequence[Misfits | None],
    names: Sequence[str],
    types: Sequence[str],
    policies: Mapping[int, str],
) -> Settlement:
    """Apply each column's policy (by column index; absent means reject) to its misfits.

    `names` are the columns' field names and `types` their chosen types. Raises InvalidUpload
    when a rejecting column has misfits, naming the first bad cell of the file.
    """
    rejected = [i for i, m in enumerate(misfits) if m and policies.get(i, REJECT) == REJECT]
    if rejected:
        raise _rejection(misfits, names, rejected)
    as_text, nulled, warnings = set(), set(), []
    for index, found in enumerate(misfits):
        if found is None:
            continue
        said = _were_not(found, types[index])
        if policies[index] == TEXT:
            as_text.add(index)
            said += ", so the column was read as text"
        else:
            nulled.add(index)
            said += " and was left empty" if found.count == 1 else " and were left empty"
        warnings.append(f"Column {names[index]}: {said} ({_first(found)}: {found.cell})")
    return Settlement(frozenset(as_text), frozenset(nulled), warnings)


def _rejection(
    misfits: Sequence[Misfits | None], names: Sequence[str], rejected: list[int]
) -> InvalidUpload:
    """'row 1,204, column inspection_date: '31/02/2019' is not a date; 3 more like it'."""
    first = min(rejected, key=lambda i: (misfits[i].row, i))  # type: ignore[union-attr]
    found = misfits[first]
    assert found is not None
    message = f"row {found.row:,}, column {names[first]}: {found.cell} {found.reason}"
    if found.count > 1:
        message += f"; {found.count - 1:,} more like it"
    others = [names[i] for i in rejected if i != first]
    if others:
        message += (
            f"; column {others[0]} has bad values too"
            if len(others) == 1
            else f"; columns {', '.join(others)} have bad values too"
        )
    data = {
        "row": found.row,
        "column": names[first],
        "count": found.count,
        "columns": [names[i] for i in rejected],
    }
    return InvalidUpload(message, data=data)


def _were_not(found: Misfits, soda_type: str) -> str:
    """'4 values were not dates', '1 value was not a date'."""
    one, many = TYPE_NOUNS[soda_type]
    if found.count == 1:
        return f"1 value was not {one}"
    return f"{found.count:,} values were not {many}"


def _first(found: Misfits) -> str:
    return f"row {found.row:,}" if found.count == 1 else f"the first at row {found.row:,}"
