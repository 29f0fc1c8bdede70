"""Taking turns at SQLite's one write lock: the single-writer discipline.

A load holds SQLite's write lock from its first row to its commit, which may be minutes; any
other writer would give up after the busy timeout (30 s) with "database is locked". So on
SQLite every write transaction (datastore.transactions) and every write of the job system first
takes an exclusive lock on a file beside the database, and waits for its turn as long as it
takes: an upload or an API write made during a long sync waits for it instead of failing.
The operating system drops the lock of a process that dies, SIGKILL included, so a crashed
worker never blocks the next. PostgreSQL has row locks and needs none of this.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

LOCK_SUFFIX = ".jobs-lock"


# Whether this thread holds the turn: a turn taken inside another by the same thread is the one
# it already holds, so nesting never waits on itself.
_held = threading.local()


@contextmanager
def write_turn(database_url: str | sa.URL) -> Iterator[None]:
    """Hold the write turn of the database at `database_url` (SQLite), or nothing
    (PostgreSQL), for the block."""
    lock_path = _lock_path(database_url)
    if lock_path is None or getattr(_held, "turn", False):
        yield
        return
    # A fresh open file per turn: flock excludes other open files even in the same process,
    # so two worker threads take turns too.
    with open(lock_path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _held.turn = True
        try:
            yield
        finally:
            _held.turn = False
            fcntl.flock(lock, fcntl.LOCK_UN)


def _lock_path(database_url: str | sa.URL) -> Path | None:
    """The lock file beside a SQLite database file; None for PostgreSQL (or SQLite in memory)."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database)
    database.parent.mkdir(parents=True, exist_ok=True)
    return database.with_name(database.name + LOCK_SUFFIX)
