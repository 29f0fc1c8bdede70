#!/usr/bin/env python3
"""Time catalog.service.import_table on a synthetic 311-like table (11 columns), SQLite or PG.

    .venv/bin/python bench/bench_load.py                          # 1,000,000 rows, SQLite in /tmp
    .venv/bin/python bench/bench_load.py --rows 200000 --database-url postgresql+psycopg://...
    .venv/bin/python bench/bench_load.py --csv /tmp/sr.csv        # through ingest's read_file

Rows are generated on the fly (like a reader streaming a file), so the figures are the loader's:
inserts, indexes and the full-text index. Prints rows/s, seconds per phase and peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_file, import_table
from civicport.config import Settings
from civicport.db.engine import make_engine
from civicport.db.migrate import upgrade
from civicport.ingest.records import ColumnSpec, ParsedTable

COLUMNS = [
    ("request_id", "text"),
    ("request_type", "text"),
    ("status", "text"),
    ("opened_at", "floating_timestamp"),
    ("closed_at", "floating_timestamp"),
    ("days_to_close", "number"),
    ("neighborhood", "text"),
    ("address", "text"),
    ("latitude", "number"),
    ("longitude", "number"),
    ("description", "text"),
]
TYPES = ["Pothole", "Bulky Trash Pickup", "Streetlight Out", "Graffiti Removal", "Noise Complaint"]
PLACES = ["Frog Hollow", "Asylum Hill", "West End", "South End", "Blue Hills", "Downtown"]
POOL_ROWS = 10_007
WORDS = [
    "broken",
    "pothole",
    "trash",
    "curb",
    "light",
    "street",
    "tree",
    "sidewalk",
    "dumped",
    "missed",
    "cart",
    "storm",
]


def synthetic_rows(count: int) -> Iterator[tuple[Any, ...]]:
    """`count` rows cycling through a pool of random ones (cheap, so the loader is measured)."""
    rng = random.Random(311)
    pool = []
    for _ in range(POOL_ROWS):
        closed = rng.random() < 0.85
        days = rng.randint(0, 60) if closed else None
        pool.append(
            (
                rng.choice(TYPES),
                "Closed" if closed else "Open",
                dt.timedelta(days=days) if days is not None else None,
                days,
                rng.choice(PLACES),
                f"{rng.randint(1, 9999)} {rng.choice(['Main', 'Park', 'Elm'])} St",
                41.7 + rng.random() / 10,
                -72.7 + rng.random() / 10,
                " ".join(rng.choices(WORDS, k=rng.randint(4, 9))),
            )
        )
    start = dt.datetime(2019, 1, 1)
    step = dt.timedelta(seconds=190)
    for i in range(count):
        kind, status, took, days, place, address, lat, lon, text = pool[i % POOL_ROWS]
        opened = start + i * step
        closed_at = opened + took if took is not None else None
        yield (f"SR-{i:08d}", kind, status, opened, closed_at, days, place, address, lat, lon, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--csv", type=Path, default=None, help="import this file via read_file")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="cp-bench-load-"))
    engine = make_engine(Settings(home=home, database_url=args.database_url))
    upgrade(engine)
    marks: list[tuple[int, float]] = []
    started = time.perf_counter()

    def progress(done: int) -> None:
        marks.append((done, time.perf_counter()))

    metadata = DatasetMetadata(title="Service requests (bench)")
    if args.csv:
        result = import_file(engine, args.csv, metadata=metadata, progress=progress)
    else:
        specs = [ColumnSpec(name, name, kind) for name, kind in COLUMNS]
        table = ParsedTable(columns=specs, rows=synthetic_rows(args.rows))
        result = import_table(engine, table, metadata=metadata, progress=progress)
    total = time.perf_counter() - started
    loaded = marks[-1][1] - started if marks else total
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"dataset {result.dataset_id}: {result.row_count:,} rows on {engine.dialect.name}")
    print(f"rows loaded in {loaded:.1f} s ({result.row_count / loaded:,.0f} rows/s incl. reading)")
    print(f"indexes + full-text + commit: {total - loaded:.1f} s; total {total:.1f} s")
    print(f"peak RSS {peak_mb:.0f} MB; data in {home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
