"""`civicport worker`: run background jobs — scheduled syncs, queued uploads, retries, alerts and
version pruning — until stopped."""

from __future__ import annotations

import logging

import typer

from civicport.cli.database import migrated_database
from civicport.cli.output import err_console, reporting_errors
from civicport.config import load_settings
from civicport.jobs.consumer import run_worker

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def worker_command(
    workers: int = typer.Option(
        2,
        "--workers",
        min=1,
        help="Jobs run at once, each in a thread. On SQLite loads take turns whatever the "
        "number; a second thread keeps fetches and alerts going meanwhile.",
    ),
) -> None:
    """Run background jobs until stopped: SIGTERM lets running jobs finish first, Ctrl+C
    (SIGINT) stops at once (the interrupted runs are marked failed at the next start).

    Start it beside `civicport serve` with the setting embedded_worker off, or run several on
    machines sharing PostgreSQL and Redis: no job runs twice.

    Example: civicport worker --workers 4
    """
    settings = load_settings()
    with reporting_errors(), migrated_database(settings):
        pass  # the schema brought up to date, once, before the threads start
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # huey logs every poll of an idle queue at INFO; its warnings and errors are kept.
    logging.getLogger("huey").setLevel(logging.WARNING)
    err_console.print(
        f"civicport worker: {workers} thread(s), queue in "
        f"{'Redis' if settings.redis_url else settings.home / 'jobs.db'} (Ctrl+C to stop)",
        highlight=False,
    )
    with reporting_errors():
        run_worker(settings, threads=workers)
