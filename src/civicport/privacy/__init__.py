"""The privacy guard: find personal data in a table and generalise it before it is published.

    findings = scan_table(table.columns, rows, category="Public Safety")
    for f in findings:
        print(f.message)  # "Column 'Name' holds people's names (100% of 5,000 sampled values)"

`scan` looks, `transforms` changes values (hundred blocks, coarser points, salted hashes):
both are pure functions, exported here. `decisions` says what a publisher's decision resolves,
`plan` applies decisions to rows as they stream, `store` keeps findings and decisions, and
`guard` puts every load through all of it (guard_table, check_publishable). See docs/privacy.md.
"""

from __future__ import annotations

from civicport.privacy.findings import KINDS, Finding
from civicport.privacy.scan import is_sensitive_category, scan_table
from civicport.privacy.transforms import (
    DECISIONS,
    apply_decision,
    coarsen_point,
    hash_value,
    hundred_block,
)

__all__ = [
    "DECISIONS",
    "KINDS",
    "Finding",
    "apply_decision",
    "coarsen_point",
    "hash_value",
    "hundred_block",
    "is_sensitive_category",
    "scan_table",
]
