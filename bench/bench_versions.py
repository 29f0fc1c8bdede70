"""Versions on a million rows: a replace with 1% of the rows changed, the diff of the two
versions, and a rollback, each timed with its peak memory, on SQLite or PostgreSQL.

    .venv/bin/python bench/bench_versions.py                      # SQLite, in $BENCH_DIR
    .venv/bin/python bench/bench_versions.py --database-url postgresql+psycopg://postgres@127.0.0.1/cpbench

The CSV is the shared benchmark's (generated if missing). The second version changes the status
of every 100th row, so the replace and the diff have 10,000 changed rows to find among 1,000,000.
Each step runs the `civicport` command under /usr/bin/time -v, as an operator would.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = Path(os.environ.get("SHARED", REPO.parent / "shared"))
DATASET_ID = "vers-0311"
SYNTHETIC = "Generated benchmark rows: no real person or place"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", type=Path, default=Path(os.environ.get("BENCH_DIR", "/tmp/cpbench"))
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--every", type=int, default=100, help="Change every Nth row (100: 1%%)")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    first = _first_csv(args.dir)
    second = _changed_csv(first, args.dir / f"service_requests_every{args.every}.csv", args.every)
    home = args.dir / "versions-home"
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "CIVICPORT_HOME": str(home)}
    if args.database_url:
        env["CIVICPORT_DATABASE_URL"] = args.database_url
        _reset_postgres(args.database_url)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"versions benchmark on {backend}: {first.name} then every {args.every}th row changed")
    privacy = [
        "--privacy",
        f"address=accept:{SYNTHETIC}",
        "--privacy",
        f"description=accept:{SYNTHETIC}",
    ]
    _step("import (version 1)", env, ["import", str(first), "--title", "311 versions", "--id",
          DATASET_ID, "--row-id", "request_id", *privacy])  # fmt: skip
    _step("replace, 1% changed (version 2)", env,
          ["import", str(second), "--id", DATASET_ID, "--mode", "replace"])  # fmt: skip
    changes = _step("diff 1 → 2", env, ["versions", "diff", DATASET_ID, "1", "2"], count_lines=True)
    print(f"  the diff listed {changes:,} changed rows")
    _step("rollback to 1 (version 3)", env, ["versions", "rollback", DATASET_ID, "1"])


def _first_csv(directory: Path) -> Path:
    path = directory / "service_requests.csv"
    if not path.exists():
        generator = SHARED / "bench" / "gen_service_requests.py"
        subprocess.run([sys.executable, str(generator), "--out", str(path)], check=True)
    return path


def _changed_csv(source: Path, target: Path, every: int) -> Path:
    """The same rows with the status of every `every`th row changed."""
    if target.exists():
        return target
    with source.open(newline="") as given, target.open("w", newline="") as out:
        reader = csv.reader(given)
        writer = csv.writer(out)
        header = next(reader)
        writer.writerow(header)
        status = header.index("status")
        for n, row in enumerate(reader):
            if n % every == 0:
                row[status] = "Reopened" if row[status] != "Reopened" else "Closed"
            writer.writerow(row)
    return target


def _reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    target = sa.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()


def _step(label: str, env: dict[str, str], command: list[str], count_lines: bool = False) -> int:
    timing = Path(env["CIVICPORT_HOME"]).parent / "versions-step.time"
    civicport = REPO / ".venv" / "bin" / "civicport"
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-v", "-o", str(timing), str(civicport), *command],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{label} failed:\n{result.stderr}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing.read_text())
    peak_mb = int(peak.group(1)) / 1024 if peak else float("nan")
    print(f"  {label:34} {seconds:8.1f} s   peak {peak_mb:6.0f} MB")
    return len(result.stdout.splitlines()) if count_lines else 0


if __name__ == "__main__":
    main()
