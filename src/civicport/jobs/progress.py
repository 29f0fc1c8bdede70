"""Live progress of a running run, kept in the queue's key-value store.

The store is huey's: a SQLite file of its own ($CIVICPORT_HOME/jobs.db) or Redis, so writing
progress never waits for the database's write lock that the load itself holds, and any process
(the web page polling a queued upload) can read it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from huey import Huey  # type: ignore[import-untyped]

KEY_PREFIX = "civicport.progress."
# Rows arrive in batches of thousands; a write per batch is fine, but not faster than this.
MIN_INTERVAL_SECONDS = 0.2
PHASES = ("fetching", "waiting", "loading")

logger = logging.getLogger(__name__)


def read_progress(huey: Huey, run_id: int) -> dict[str, Any]:
    """The last progress a run reported, or {} when it reports none (not running)."""
    found = huey.get(KEY_PREFIX + str(run_id), peek=True)
    return dict(found) if isinstance(found, dict) else {}


class ProgressReporter:
    """What a run reports while it works: its phase, bytes fetched and rows loaded.

    Writes to the store are throttled to one per MIN_INTERVAL_SECONDS; the last value of a
    burst is stored when the interval is up, so the final count is never lost. A failing store
    is logged and ignored (progress is a courtesy, the run must go on). `listener`, if given,
    hears every update (the command line's progress bar).
    """

    def __init__(
        self,
        huey: Huey | None,
        run_id: int,
        *,
        listener: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.huey = huey
        self.run_id = run_id
        self.listener = listener
        self.state: dict[str, Any] = {"phase": "fetching", "rows": 0, "bytes": 0}
        self._key = KEY_PREFIX + str(run_id)
        self._lock = threading.Lock()
        self._written_at = 0.0
        self._pending: threading.Timer | None = None
        self._closed = False

    def phase(self, name: str) -> None:
        self._update(force=True, phase=name)

    def rows(self, count: int) -> None:
        self._update(rows=count)

    def bytes(self, count: int) -> None:
        self._update(bytes=count)

    def clear(self) -> None:
        """Forget the run's progress (it ended); nothing is stored after this."""
        with self._lock:
            self._closed = True
            if self._pending is not None:
                self._pending.cancel()
            if self.huey is not None:
                self._call(self.huey.delete, self._key)

    def _update(self, *, force: bool = False, **values: Any) -> None:
        with self._lock:
            self.state.update(values)
            if self.listener is not None:
                self.listener(self.state)
            if self.huey is None or self._closed:
                return
            wait = MIN_INTERVAL_SECONDS - (time.monotonic() - self._written_at)
            if force or wait <= 0:
                self._store()
            elif self._pending is None:
                self._pending = threading.Timer(wait, self._store_later)
                self._pending.daemon = True
                self._pending.start()

    def _store_later(self) -> None:
        with self._lock:
            if not self._closed:
                self._store()

    def _store(self) -> None:
        # Called with the lock held, so a late timer cannot store after clear().
        if self.huey is None:
            return
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._written_at = time.monotonic()
        value = {**self.state, "updated_at": dt.datetime.now(dt.UTC).isoformat()}
        self._call(self.huey.put, self._key, value)

    def _call(self, method: Callable[..., object], *args: object) -> None:
        try:
            method(*args)
        except Exception:
            logger.warning("Could not record the progress of run %s", self.run_id, exc_info=True)
