"""Decisions turned into a plan that changes rows as they stream to the loader.

    plan = build_plan(table.columns, decisions, salt)
    plan.specs(table.columns)   # the columns stored: dropped ones gone, hashed ones text
    plan.rows(table.rows)       # each row with the decisions applied, one at a time

A Plan is plain frozen data, so worker processes can be handed it with a batch of columns
(`finish_planned`, for ParsedTable.column_batches): large loads apply decisions where they
convert values, and memory never grows with the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from civicport.errors import InvalidUpload
from civicport.ingest.records import ColumnFinisher, ColumnSpec
from civicport.privacy.decisions import GENERALIZABLE, Decision
from civicport.privacy.transforms import apply_decision, hash_value

GRID_DIGITS = 3  # decimal places a generalised location keeps (about 100 m)


@dataclass(frozen=True)
class Step:
    """How the values of one incoming column change: "hash" or "generalize" (as `kind`)."""

    index: int
    field_name: str
    action: str
    kind: str = ""


@dataclass(frozen=True)
class Plan:
    """Which incoming columns are kept (by index, in order) and how values change."""

    keep: tuple[int, ...]
    steps: tuple[Step, ...]
    width: int  # how many columns come in
    salt: str

    @property
    def identity(self) -> bool:
        return not self.steps and self.keep == tuple(range(self.width))

    def specs(self, columns: Sequence[ColumnSpec]) -> list[ColumnSpec]:
        """The stored columns: dropped ones left out, hashed ones text (a hash is text)."""
        hashed = {s.index for s in self.steps if s.action == "hash"}
        return [
            replace(columns[i], soda_type="text") if i in hashed else columns[i] for i in self.keep
        ]

    def rows(self, rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        if self.identity:
            yield from rows
            return
        for row in rows:
            values = list(row)
            for step in self.steps:
                values[step.index] = self._change(step, values[step.index])
            yield tuple(values[i] for i in self.keep)

    def columns(self, values: Sequence[list[Any]]) -> list[list[Any]]:
        """A batch given as columns (in incoming order) → the kept columns, changed."""
        if self.identity:
            return list(values)
        changed = list(values)
        for step in self.steps:
            changed[step.index] = [self._change(step, v) for v in values[step.index]]
        return [changed[i] for i in self.keep]

    def _change(self, step: Step, value: Any) -> Any:
        if value is None:
            return None
        if step.action == "hash":
            return hash_value(str(value), salt=self.salt)
        try:
            changed = apply_decision("generalize", step.kind, value, digits=GRID_DIGITS)
        except (ValueError, TypeError, ArithmeticError):
            # Never the value itself in the message: it is what the guard protects.
            raise InvalidUpload(
                f"A value in column '{step.field_name}' cannot be generalised as "
                f"{step.kind.replace('_', ' ')}: decide drop or hash for the column instead"
            ) from None
        if isinstance(value, Decimal) and isinstance(changed, float):
            return Decimal(repr(changed))  # a number column stays exact decimal
        return changed


def build_plan(columns: Sequence[ColumnSpec], decisions: Mapping[str, Decision], salt: str) -> Plan:
    """The plan for an incoming table's columns under the dataset's decisions."""
    keep: list[int] = []
    steps: list[Step] = []
    for index, column in enumerate(columns):
        decision = decisions.get(column.field_name)
        action = decision.action if decision else "accept"
        if action == "drop":
            continue
        keep.append(index)
        if action == "hash":
            steps.append(Step(index, column.field_name, "hash"))
        elif action == "generalize" and decision is not None:
            kind = next((k for k in decision.kinds if k in GENERALIZABLE), "")
            steps.append(Step(index, column.field_name, "generalize", kind))
    return Plan(tuple(keep), tuple(steps), len(columns), salt)


def finish_planned(plan: Plan, finish: ColumnFinisher, values: list[list[Any]]) -> list[list[Any]]:
    """`finish` of a batch after the plan: a module-level function, so it pickles to workers."""
    return finish(plan.columns(values))
