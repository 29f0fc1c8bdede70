"""Running the queue: `civicport worker` in the foreground, or inside `civicport serve`.

Both do the same start-up (jobs.queue.JobQueue.start_up) and run huey's consumer with worker
threads, whose scheduler enqueues the tick every minute and due retries every second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from huey.consumer import Consumer  # type: ignore[import-untyped]

from civicport.config import Settings
from civicport.jobs.queue import JobQueue, queue_for

# An idle worker looks at a SQLite queue at least this often (huey backs off up to this).
MAX_POLL_SECONDS = 1.0
# How long `serve` waits at shutdown for a run to end before leaving it to the next start-up.
EMBEDDED_SHUTDOWN_SECONDS = 5.0

logger = logging.getLogger(__name__)


def run_worker(settings: Settings, *, threads: int) -> None:
    """Recover, then run jobs until SIGTERM (finish the runs in hand, then stop) or SIGINT
    (stop now: the runs in hand are rolled back and marked interrupted at the next start)."""
    queue = JobQueue(settings)
    try:
        queue.start_up()
        consumer = _Consumer(
            queue.huey,
            workers=threads,
            worker_type="thread",
            max_delay=MAX_POLL_SECONDS,
            graceful_signal="TERM",
        )
        consumer.run()
    finally:
        queue.close()


class _Consumer(Consumer):  # type: ignore[misc]  # huey has no type hints
    """huey's consumer, saying when it takes jobs (and from then on handles its signals)."""

    def start(self) -> None:
        super().start()
        logger.info("Ready: %s thread(s) take jobs", self.workers)


class _EmbeddedConsumer(_Consumer):
    """A consumer that leaves signal handling to its host process (Uvicorn's)."""

    def _set_signal_handlers(self) -> None:
        pass


def start_embedded(settings: Settings, *, threads: int = 1) -> Callable[[], None]:
    """Run jobs in background threads of this process (`civicport serve`, `civicport demo`)
    unless the `embedded_worker` setting is off; returns the function that stops them.

    >>> stop = start_embedded(settings)  # doctest: +SKIP
    >>> stop()  # doctest: +SKIP
    """
    if not settings.embedded_worker:
        return lambda: None
    queue = queue_for(settings)
    queue.start_up()
    consumer = _EmbeddedConsumer(
        queue.huey,
        workers=threads,
        worker_type="thread",
        max_delay=MAX_POLL_SECONDS,
        check_worker_health=False,
        shutdown_timeout=EMBEDDED_SHUTDOWN_SECONDS,
    )
    consumer.start()

    def stop() -> None:
        consumer.stop(graceful=True)
        queue.close()

    return stop
