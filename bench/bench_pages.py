#!/usr/bin/env python3
"""Time the portal's web pages on 1,000 small datasets plus the 1M-row 311 table.

    bash bench/civicport_bench.sh prepare && bash bench/civicport_bench.sh import
    .venv/bin/python bench/bench_pages.py --out /tmp/cpbench/results_pages.json

Without --home, civicport_bench.sh's home ($BENCH_DIR/civicport-home) is copied to
$BENCH_DIR/pages-home (SQLite backup) and 1,000 small public datasets are added through the
catalog service; a home that already has them is reused. `civicport serve --workers 1` then
runs on a free loopback port. Each URL is requested a few times, then N times in a row over one
connection (httpx, gzip accepted like a browser); p50/p95/p99 and the server's CPU per request
are printed. Last, the dataset page's weight before the map tab: its HTML plus the stylesheets,
scripts and images it loads, and (with Playwright and /usr/bin/chromium) what Chromium fetches.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import os
import platform
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import sqlalchemy as sa

from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_table
from civicport.config import Settings
from civicport.db.engine import make_engine
from civicport.db.migrate import upgrade
from civicport.db.schema import datasets
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.privacy.decisions import Choice

REPO = Path(__file__).resolve().parents[1]
PUBLISHER = "civicport bench"  # marks the small datasets, so a home is topped up, not doubled
TARGET_MS, TARGET_BYTES = 50.0, 300_000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CHROMIUM_ARGS += ["--disable-component-update", "--no-first-run", "--disable-sync"]
# topic; category; department; tags. Titles are a topic plus a year, a place or a cut.
TOPICS = [
    line.split("; ")
    for line in """\
Building permits; Housing; Permits and Inspections; permits construction
Restaurant inspections; Health; Public Health; food restaurants
Street tree inventory; Environment; Parks and Recreation; trees canopy
Parking citations; Transportation; Parking Authority; parking fines
Crime incidents; Public Safety; Police Department; crime police
Bike lane network; Transportation; Public Works; bicycles streets
Library circulation; Culture; Public Library; books library
Drinking water quality samples; Environment; Water Utility; water lead
Traffic counts; Transportation; Public Works; traffic streets
Business licenses; Economy; Licensing Office; business licenses
Budget expenditures; Finance; Finance Department; budget spending
City employee payroll; Finance; Human Resources; payroll salaries
Fire incidents; Public Safety; Fire Department; fire emergencies
Property assessments; Finance; Assessor's Office; property taxes
Code enforcement cases; Housing; Permits and Inspections; housing blight
Bus stop ridership; Transportation; Transit Agency; transit buses
Recycling tonnage; Environment; Sanitation; recycling waste
Election results; Government; Registrar of Voters; elections voting
Affordable housing units; Housing; Housing Authority; housing affordable
Air quality readings; Environment; Public Health; air pollution
Animal shelter intakes; Health; Animal Services; animals pets
Potholes repaired; Infrastructure; Public Works; potholes streets
School enrollment; Education; Board of Education; schools students
Recreation program enrollment; Recreation; Parks and Recreation; programs parks""".splitlines()
]
PLACES = ["Downtown", "Frog Hollow", "Asylum Hill", "West End", "South End", "Blue Hills"]
CUTS = ["by ward", "by month", "summary", "(archived)", "pilot", "open cases", "historical"]
WORDS = ["inspected", "reported", "resolved", "pending", "scheduled", "approved", "closed"]
# The first column always, then 7 of the others.
COLUMNS = re.findall(
    r"(\w+):(\w+)",
    "record_id:text name:text status:text ward:text reported_on:floating_timestamp amount:number"
    " quantity:number verified:checkbox location:point notes:text website:url",
)

SYNTHETIC = "Generated benchmark rows: no real person or place"


def small_table(rng: random.Random) -> ParsedTable:
    columns = [COLUMNS[0], *sorted(rng.sample(COLUMNS[1:], 7), key=COLUMNS.index)]
    start = dt.datetime(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 3000))
    values: dict[str, Callable[[int], Any]] = {
        "text": lambda i: f"{rng.choice(WORDS).title()} {rng.choice(PLACES)} {i}",
        "floating_timestamp": lambda i: start + dt.timedelta(hours=rng.randint(0, 20000)),
        "number": lambda i: round(rng.uniform(0, 5000), 2),
        "checkbox": lambda i: rng.random() < 0.6,
        "point": lambda i: (-72.7 + rng.random() / 10, 41.7 + rng.random() / 10),
        "url": lambda i: f"https://example.org/r/{i}",
    }
    rows = [
        tuple(f"R-{i:05d}" if n == "record_id" else values[t](i) for n, t in columns)
        for i in range(rng.randint(20, 200))
    ]
    specs = [ColumnSpec(n, n.replace("_", " ").title(), t) for n, t in columns]
    return ParsedTable(columns=specs, rows=iter(rows))


def small_metadata(rng: random.Random, number: int) -> DatasetMetadata:
    topic, category, department, tags = rng.choice(TOPICS)
    cut = rng.choice([str(rng.randint(2012, 2025)), rng.choice(PLACES), rng.choice(CUTS)])
    extra = rng.sample(["monthly", "annual", "311", "map", "historical", "open data"], 2)
    return DatasetMetadata(
        title=f"{topic} {cut}" if number % 3 else f"{topic}, {cut}",
        description=(
            f"{topic} recorded by the {department}, {cut}.\n\n"
            f"Each row is one record, {rng.choice(WORDS)} or {rng.choice(WORDS)}. Updated "
            f"**{rng.choice(['daily', 'weekly', 'monthly'])}** from the department's system; "
            "see the data dictionary below for what each column means."
        ),
        category=category,
        tags=(*tags.split(), *extra),
        department=department,
        publisher=PUBLISHER,
        contact_email="opendata@example.org",
        license_id="CC0_10",
        license_name="Public Domain",
        audience="public",
        update_frequency=rng.choice(["Daily", "Weekly", "Monthly", "Annually"]),
    )


def prepare(home: Path, source: Path, count: int) -> dict[str, Any]:
    """Copy the 1M-row home (unless `home` exists) and add small datasets up to `count`."""
    started = time.perf_counter()
    if not (home / "civicport.db").exists():
        if not (source / "civicport.db").exists():
            raise SystemExit(f"no {source}/civicport.db: run civicport_bench.sh prepare, import")
        home.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source / 'civicport.db'}?mode=ro", uri=True)
        dst = sqlite3.connect(home / "civicport.db")
        src.backup(dst)
        src.close()
        dst.close()
    copied = time.perf_counter() - started
    engine = make_engine(Settings(home=home))
    upgrade(engine)
    with engine.connect() as conn:
        mine = datasets.c.publisher == PUBLISHER
        have = conn.execute(sa.select(sa.func.count()).where(mine)).scalar_one()
    rng = random.Random(2026 + have)
    made = time.perf_counter()
    for number in range(have, count):
        table = small_table(rng)
        # Generated rows hold no one's data: accepted, so the privacy guard lets them be public.
        accepted = {c.field_name: Choice("accept", SYNTHETIC) for c in table.columns}
        import_table(
            engine,
            table,
            metadata=small_metadata(rng, number),
            privacy_decisions=accepted,
            decided_by="bench",
        )
    created = time.perf_counter() - made
    engine.dispose()
    print(f"home {home}: copy {copied:.1f} s, {count - have} datasets added in {created:.1f} s")
    return {"copy_s": copied, "added": max(count - have, 0), "create_s": created}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def warm_file(path: Path) -> None:
    """Read the file once: this VM evicts file pages left idle for about a minute."""
    with path.open("rb") as f:
        while f.read(1 << 22):
            pass


def percentile(sorted_ms: list[float], p: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, round(p / 100 * (len(sorted_ms) - 1)))]


def measure(client: httpx.Client, url: str, args: argparse.Namespace, pid: int) -> dict[str, Any]:
    n = args.requests
    for _ in range(args.warmup):
        client.get(url)
    cpu, times, statuses, size = cpu_seconds(pid), [], set(), 0
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        statuses.add(r.status_code)
        size = len(r.content)
    cpu = (cpu_seconds(pid) - cpu) * 1000 / n
    times.sort()
    figures = {f"p{p}": percentile(times, p) for p in (50, 95, 99)}
    figures |= {"mean": statistics.fmean(times), "cpu_ms": cpu, "html_bytes": size}
    return {**figures, "status": sorted(statuses)}


class Assets(HTMLParser):
    """What a page makes the browser fetch up front: stylesheets, icons, scripts, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        rel = set(a.get("rel", "").lower().split())
        if a.get("src", a.get("href", "")).startswith("data:"):
            return
        if tag == "link" and rel & {"stylesheet", "icon", "preload", "modulepreload"}:
            self.urls.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.urls.append(a["src"])  # defer/async change when a script runs, not whether
        elif tag == "img" and a.get("src") and a.get("loading") != "lazy":
            self.urls.append(a["src"])


def page_weight(client: httpx.Client, url: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    pending = [url]
    while pending:
        current = pending.pop(0)
        r = client.get(current)
        sizes = {"bytes": len(r.content), "gzip": len(gzip.compress(r.content, 6))}
        parts.append({"url": current, "status": r.status_code, **sizes})
        parts[-1]["wire"] = r.num_bytes_downloaded  # as served: gzip when the server chose it
        if current == url:
            parser = Assets()
            parser.feed(r.text)
            pending += [urljoin(url, u) for u in dict.fromkeys(parser.urls)]
        elif "css" in r.headers.get("content-type", ""):  # url(…) in a stylesheet
            found = re.findall(r"url\(\s*['\"]?([^'\")]+)", r.text)
            pending += [urljoin(current, u) for u in found if not u.startswith("data:")]
    totals = {k: sum(p[k] for p in parts) for k in ("bytes", "gzip", "wire")}
    return {"parts": parts, **totals}


def browser_weight(url: str) -> dict[str, Any] | None:
    """What headless Chromium fetches for the page (None without Playwright or Chromium)."""
    try:
        from playwright.sync_api import Response, sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).exists():
        return None
    responses: list[Response] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("response", lambda response: responses.append(response))
        page.goto(url, wait_until="networkidle")
        parts = [{"url": r.url, "status": r.status, "bytes": len(r.body())} for r in responses]
        for part, r in zip(parts, responses, strict=True):
            part["wire"] = r.request.sizes()["responseBodySize"]
        browser.close()
    return {"parts": parts, **{k: sum(p[k] for p in parts) for k in ("bytes", "wire")}}


def machine() -> dict[str, Any]:
    model = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    git = ["git", "-C", str(REPO), "describe", "--always", "--dirty"]
    return {
        "cpu": model.group(1) if model else "?",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "commit": subprocess.run(git, capture_output=True, text=True).stdout.strip(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def page_urls(home: Path, big_id: str) -> dict[str, str]:
    engine = make_engine(Settings(home=home))
    with engine.connect() as conn:
        query = sa.select(datasets.c.id).where(datasets.c.publisher == PUBLISHER).limit(1)
        small = conn.execute(query).scalar_one()
    engine.dispose()
    big = f"/d/{big_id}"
    return {
        "home": "/",
        "browse": "/browse",
        "browse 2 words": "/browse?q=building+permits",
        "browse typo": "/browse?q=restaraunt",
        "browse category+sort": "/browse?category=Transportation&sort=updated",
        "dataset 1M": big,
        "dataset 1M page 2000": f"{big}?page=2000",
        "dataset 1M sort text": f"{big}?sort=neighborhood",
        "dataset 1M filter text": f"{big}?f.request_type=Pothole",
        "dataset 1M filter date": f"{big}?f.opened_at=2023-05",
        "dataset small": f"/d/{small}",
        "dataset 1M api tab": f"{big}?tab=api",
        "dataset 1M chart tab": f"{big}?tab=chart&chart=bar&x=neighborhood",
    }


# The anchor's nearest pages: Datasette's HTML table view of the same 1M rows, 25 rows a page.
ANCHOR_TABLE = "/service_requests/service_requests"
ANCHOR_URLS = {
    "dataset 1M": f"{ANCHOR_TABLE}?_size=25",
    "dataset 1M page 2000": f"{ANCHOR_TABLE}?_size=25&_next=49975",
    "dataset 1M sort text": f"{ANCHOR_TABLE}?_size=25&_sort=neighborhood",
    "dataset 1M filter text": f"{ANCHOR_TABLE}?_size=25&request_type=Pothole",
    "dataset 1M filter date": f"{ANCHOR_TABLE}?_size=25&opened_at__startswith=2023-05",
}


def anchor_pages(args: argparse.Namespace) -> dict[str, Any] | None:
    """Datasette (the anchor, started as bench/datasette_anchor.sh starts it) timed on its
    table pages in the same run; None when its venv or database is missing."""
    if not (args.anchor_datasette.exists() and args.anchor_db.exists()):
        print(f"anchor skipped: no {args.anchor_datasette} or {args.anchor_db}")
        return None
    port = free_port()
    command = [
        str(args.anchor_datasette), "serve", str(args.anchor_db), "-h", "127.0.0.1",
        "-p", str(port), "--setting", "sql_time_limit_ms", "20000",
        "--setting", "max_returned_rows", "1000",
    ]  # fmt: skip
    log = (args.out.parent / "bench_pages_anchor.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    pages: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for _ in range(150):
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/-/versions.json").status_code == 200:
                        break
                time.sleep(0.2)
            # Fewer requests: some anchor pages take seconds each (a sort of 1M rows).
            fewer = argparse.Namespace(**{**vars(args), "requests": args.anchor_requests})
            for name, url in ANCHOR_URLS.items():
                warm_file(args.anchor_db)
                pages[name] = {"url": url, **measure(client, url, fewer, server.pid)}
    finally:
        server.terminate()
        server.wait(timeout=30)
    return pages


def print_ratios(ours: dict[str, Any], anchor: dict[str, Any]) -> None:
    print(f"\n{'page (vs Datasette)':<24}{'ours p50':>9}{'anchor p50':>11}{'ratio':>7}")
    for name, theirs in anchor.items():
        ratio = theirs["p50"] / ours[name]["p50"]
        print(f"{name:<24}{ours[name]['p50']:9.1f}{theirs['p50']:11.1f}{ratio:6.1f}x")


def run(args: argparse.Namespace, urls: dict[str, str]) -> dict[str, Any]:
    """Serve the home with one worker, time every URL, weigh the 1M-row dataset page."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(REPO / ".venv/bin/civicport"), "serve", "--port", str(port), "--workers", "1"]
    log = (args.out.parent / "bench_pages_serve.log").open("w")
    # One client sends thousands of requests: the per-client rate limit is off (empty).
    env = {**os.environ, "CIVICPORT_HOME": str(args.home), "CIVICPORT_RATE_LIMIT_ANONYMOUS": ""}
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    pages: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(150):
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/").status_code == 200:
                        break
                time.sleep(0.2)
            else:
                raise SystemExit(f"the server does not answer / with 200; see {log.name}")
            print(f"{'page':<24}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'CPU ms':>8}{'KB':>7}")
            for name, url in urls.items():
                warm_file(args.home / "civicport.db")
                r = pages[name] = {"url": url, **measure(client, url, args, server.pid)}
                figures = "".join(f"{r[k]:8.1f}" for k in ("p50", "p95", "p99", "cpu_ms"))
                flag = "" if r["p50"] < TARGET_MS else "  over 50 ms"
                print(f"{name:<24}{figures}{r['html_bytes'] / 1000:7.1f}  {r['status']}{flag}")
            weight = page_weight(client, base + urls["dataset 1M"])
        browser = None if args.no_browser else browser_weight(base + urls["dataset 1M"])
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"pages": pages, "weight": weight, "browser": browser}


def main() -> int:
    bench_dir = Path(os.environ.get("BENCH_DIR", "/tmp/cpbench"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=bench_dir / "pages-home")
    parser.add_argument("--source", type=Path, default=bench_dir / "civicport-home")
    parser.add_argument("--big-id", default="bnch-0311", help="the 1M-row dataset's id")
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", type=Path, default=bench_dir / "results_pages.json")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium check")
    parser.add_argument("--anchor-db", type=Path, default=bench_dir / "service_requests.db")
    parser.add_argument("--anchor-requests", type=int, default=20)
    parser.add_argument(
        "--anchor-datasette", type=Path, default=bench_dir / "venv" / "bin" / "datasette"
    )
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)

    prepared = prepare(args.home, args.source, args.datasets)
    urls = page_urls(args.home, args.big_id)
    result = run(args, urls)
    result["anchor"] = anchor_pages(args)
    pages, weight, browser = result["pages"], result["weight"], result["browser"]
    if result["anchor"]:
        print_ratios(pages, result["anchor"])
    print(f"\n{urls['dataset 1M']} before the map tab: {len(weight['parts'])} files")
    print(f"{'bytes':>10} {'gzip -6':>9} {'served':>9}")
    for part in [*weight["parts"], {**weight, "url": "total"}]:
        print(f"{part['bytes']:>10,} {part['gzip']:>9,} {part['wire']:>9,}  {part['url']}")
    if browser:
        print(
            f"Chromium: {len(browser['parts'])} responses, {browser['bytes']:,} bytes, "
            f"{browser['wire']:,} on the wire"
        )
    verdicts: dict[str, bool] = {}
    for group in ("home", "browse", "dataset"):
        slowest = max((n for n in urls if n.startswith(group)), key=lambda n: pages[n]["p50"])
        verdicts[f"{group} p50 < 50 ms"] = pages[slowest]["p50"] < TARGET_MS
        print(
            f"{group:<8} p50 < 50 ms: {'PASS' if verdicts[f'{group} p50 < 50 ms'] else 'FAIL'}"
            f" (slowest: {slowest}, {pages[slowest]['p50']:.1f} ms)"
        )
    verdicts["weight < 300 KB"] = weight["bytes"] < TARGET_BYTES
    kb = f"{weight['bytes'] / 1000:.1f} KB, {weight['wire'] / 1000:.1f} KB served"
    print(f"weight   < 300 KB: {'PASS' if verdicts['weight < 300 KB'] else 'FAIL'} ({kb})")
    report = {"machine": machine(), "prepare": prepared, "requests": args.requests, **result}
    args.out.write_text(json.dumps({**report, "verdicts": verdicts}, indent=2))
    print(f"results in {args.out}")
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
