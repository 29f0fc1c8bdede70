"""Run a compiled query and answer with its rows rendered: whole when small, streamed when big.

The first batch is fetched before answering: a result that fits in it is rendered at once into a
plain Response (with a Content-Length) and the connection goes straight back to the pool. A
bigger one streams: the connection stays open while the body is written, batch by batch through
a server-side cursor on PostgreSQL (a lazy cursor on SQLite), and is returned when the body ends
or the client goes away. Memory stays flat whatever the row count.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import anyio
import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

BATCH_ROWS = 2000

Row = Sequence[Any]
Renderer = Callable[[Iterable[Sequence[Row]]], Iterator[bytes]]


class RowStream:
    """The rows of one executed query: the first batch, and the rest while the cursor is open."""

    def __init__(self, conn: sa.Connection, result: sa.CursorResult[Any]):
        self._conn = conn
        self._result = result
        self.first = result.fetchmany(BATCH_ROWS)
        self.complete = len(self.first) < BATCH_ROWS
        if self.complete:
            self.close()

    def batches(self) -> Iterator[Sequence[Row]]:
        yield self.first
        if self.complete:
            return
        fetch = self._result.fetchmany
        while batch := fetch(BATCH_ROWS):
            yield batch
        self.close()

    def close(self) -> None:
        """Give the connection back (safe to call twice)."""
        self._result.close()
        self._conn.close()


def execute(conn: sa.Connection, sql: str, params: Mapping[str, Any]) -> RowStream:
    """Run driver-level SQL on `conn`, which the RowStream now owns (and closes, even on error).

    The caller must answer with `respond`, which closes the stream when the body is written.
    """
    try:
        if conn.dialect.name == "postgresql":
            # A named (server-side) cursor: rows arrive BATCH_ROWS at a time, not all at once.
            conn = conn.execution_options(stream_results=True, max_row_buffer=BATCH_ROWS)
        result = conn.exec_driver_sql(sql, params)
        return RowStream(conn, result)
    except BaseException:
        conn.close()
        raise


def respond(
    rows: RowStream, render: Renderer, *, media_type: str, headers: Mapping[str, str]
) -> Response:
    """A Response for a small result, a StreamingResponse for a big one."""
    chunks = render(rows.batches())
    if rows.complete:
        return Response(b"".join(chunks), headers={**headers, "Content-Type": media_type})
    return _ClosingStreamingResponse(
        _in_threadpool(chunks, rows.close),
        headers={**headers, "Content-Type": media_type},
    )


class _ClosingStreamingResponse(StreamingResponse):
    """Closes its body iterator however the response ends.

    When the client goes away, Starlette cancels the send loop, possibly while it is awaiting
    `send` with our generator parked at a `yield`; nothing would close that generator until the
    event loop shuts down, and the database connection would stay checked out till then.
    """

    body_iterator: AsyncGenerator[bytes, None]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()


async def _in_threadpool(
    chunks: Iterator[bytes], close: Callable[[], None]
) -> AsyncGenerator[bytes, None]:
    """Pull each chunk in a worker thread (the DB reads block); always return the connection."""
    try:
        while (chunk := await run_in_threadpool(next, chunks, None)) is not None:
            yield chunk
    finally:
        # Runs on completion and on client disconnect alike. Each pull above runs to its end
        # before cancellation is delivered, so nothing else is using the cursor now; closing
        # may talk to the server (PostgreSQL), so it runs in a thread, shielded from the cancel.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_close_all, chunks, close)


def _close_all(chunks: Iterator[bytes], close: Callable[[], None]) -> None:
    close_chunks = getattr(chunks, "close", None)
    if close_chunks is not None:
        close_chunks()
    close()
