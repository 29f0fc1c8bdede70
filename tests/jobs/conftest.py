"""Fixtures for background jobs: datasets loaded from real files, a queue that runs its tasks at
once (huey's immediate mode), and real servers on loopback — a data source answering what a test
asks, a webhook receiver and an SMTP server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from jobdata import Loopback, Mailbox, MakeCsvDataset, write_csv

from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_file
from civicport.config import Settings
from civicport.jobs.queue import JobQueue


@pytest.fixture
def job_settings(settings: Settings) -> Settings:
    """The test's settings with retries that do not wait, and file sources allowed in the
    test's folder."""
    return settings.model_copy(
        update={"retry_delay_seconds": 0.0, "source_dirs": [settings.home.parent]}
    )


@pytest.fixture
def queue(job_settings: Settings, engine: sa.Engine) -> Iterator[JobQueue]:
    """A queue whose tasks run at once, in the test, on the test's database."""
    jobs = JobQueue(job_settings, engine=engine, immediate=True)
    yield jobs
    jobs.close()


@pytest.fixture
def csv_dataset(engine: sa.Engine, tmp_path: Path) -> MakeCsvDataset:
    """make(rows, **metadata) -> the id of a private dataset imported from a CSV of `rows`."""

    def make(
        rows: Sequence[Sequence[Any]],
        *,
        row_identifier: str | None = None,
        owner_id: int | None = None,
        **metadata: Any,
    ) -> str:
        path = write_csv(tmp_path / "first-load.csv", rows)
        result = import_file(
            engine,
            path,
            metadata=DatasetMetadata(title=metadata.pop("title", "Service requests"), **metadata),
            row_identifier=row_identifier,
            owner_id=owner_id,
        )
        return str(result.dataset_id)

    return make


# --- a web server on loopback: data sources and a webhook ---------------------------------------


SLOW_SECONDS = 3.0  # how long the server takes to answer a path under /slow


@pytest.fixture
def web() -> Iterator[Loopback]:
    """A real HTTP server on 127.0.0.1 serving `routes` and recording POSTs."""
    state = Loopback(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            state.fetched.append((self.path, dict(self.headers)))
            if self.path.startswith("/slow"):
                time.sleep(SLOW_SECONDS)
            status, content_type, body = state.routes.get(
                self.path, (404, "text/plain", b"no such file")
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            state.posted.append((self.path, json.loads(self.rfile.read(length))))
            status = 500 if self.path.startswith("/broken") else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


# --- an SMTP server on loopback -----------------------------------------------------------------


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1, its port, and what it received."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()
