"""A real HTTP server on loopback for source tests (imported by the test modules)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import Response

MB = 1 << 20


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a free loopback port; yields its base URL
    ('http://127.0.0.1:PORT')."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


Endpoint = Callable[[Request], Awaitable[Response]]


def answering(
    body: bytes | str, media_type: str | None = None, status: int = 200, **headers: str
) -> Endpoint:
    """An endpoint that always gives the same answer."""

    async def endpoint(request: Request) -> Response:
        return Response(body, status_code=status, media_type=media_type, headers=headers)

    return endpoint
