"""A dataset's load rules: for each check, whether it is off, warns or blocks the load, and the
per-column policy for values that do not fit their column's type.

Stored as JSON in datasets.load_rules (None: every default):

    {"row_drop": "block", "max_row_drop": 0.5, "empty_column": "warn", "duplicate_ids": "block",
     "future_dates": "warn", "outside_boundary": "warn", "schema_drift": "warn",
     "type_policy": {"inspection_date": "null"}}

A JSON object may name only some of them; the others keep their defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from civicport.errors import InvalidUpload
from civicport.ingest.type_policy import check_policy

RULE_ACTIONS = ("off", "warn", "block")
# The checks, as LoadRules names them; each takes one of RULE_ACTIONS.
RULES = (
    "row_drop",
    "empty_column",
    "duplicate_ids",
    "future_dates",
    "outside_boundary",
    "schema_drift",
)


@dataclass(frozen=True)
class LoadRules:
    """Per-dataset settings of the load checks (see docs/checks.md for what each does)."""

    # The row count falls by more than max_row_drop. Warns by default: a person replacing rows
    # (the Producer API's PUT, an upload) usually means it; set block for scheduled loads.
    row_drop: str = "warn"
    max_row_drop: float = 0.5  # a share of the previous version's rows, 0..1
    empty_column: str = "warn"  # a column that had values is now empty in every row
    duplicate_ids: str = "block"  # repeated row identifiers; warn keeps the first of each
    future_dates: str = "warn"  # dates later than now (with a day of slack)
    outside_boundary: str = "warn"  # points outside the city boundary (when one is set)
    schema_drift: str = "warn"  # columns added, removed or retyped
    # Field name → "reject" (the default), "null" or "text": see ingest.type_policy.
    type_policy: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rule in RULES:
            action = getattr(self, rule)
            if action not in RULE_ACTIONS:
                raise InvalidUpload(
                    f"The load rule {rule} must be one of {', '.join(RULE_ACTIONS)}, "
                    f"not {action!r}."
                )
        share = self.max_row_drop
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise InvalidUpload(
                f"max_row_drop is a share of the rows between 0 and 1 (0.5 is half), not {share!r}."
            )
        if not isinstance(self.type_policy, Mapping):
            raise InvalidUpload("type_policy maps column names to reject, null or text.")
        for column, policy in self.type_policy.items():
            check_policy(column, policy)
        # A copy, so that changing the mapping given cannot change these rules.
        object.__setattr__(self, "max_row_drop", float(share))
        object.__setattr__(self, "type_policy", dict(self.type_policy))

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> LoadRules:
        """Rules from their stored JSON (None: the defaults); InvalidUpload for an unknown
        name, an unknown action or a share outside 0..1."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InvalidUpload("Load rules are a JSON object of rule names and actions.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidUpload(
                f"Unknown load rule {', '.join(map(repr, unknown))}; the rules are: "
                f"{', '.join(sorted(known))}."
            )
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        """Every rule, as from_json reads them back."""
        data = dataclasses.asdict(self)
        data["type_policy"] = dict(self.type_policy)
        return data

    def action(self, rule: str) -> str:
        """What `rule` (one of RULES) does when it finds something: off, warn or block."""
        return str(getattr(self, rule))
