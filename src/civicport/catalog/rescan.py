"""Scanning a dataset's live rows again, before it becomes public.

A load is scanned as it comes in (privacy.guard). Publishing without new rows — a wider
audience, a move into a sensitive category — asks about the rows as they are stored: they may
predate the guard, or have been scanned under a category where exact locations did not matter.
"""

from __future__ import annotations

import sqlalchemy as sa

from civicport.catalog.live_rows import read_live
from civicport.catalog.records import DatasetRecord
from civicport.privacy import store
from civicport.privacy.guard import SAMPLE_ROWS
from civicport.privacy.scan import scan_table


def rescan_live_rows(conn: sa.Connection, record: DatasetRecord, category: str | None) -> None:
    """Scan the first SAMPLE_ROWS live rows under `category` and add what is found to the
    dataset's recorded findings (in the caller's transaction)."""
    if not record.columns:
        return
    table = read_live(conn, record, limit=SAMPLE_ROWS)
    found = scan_table(table.columns, table.rows, category=category, sample=SAMPLE_ROWS)
    store.record_findings(conn, record.id, found, merge=True)
