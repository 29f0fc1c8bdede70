"""What source tests serve on loopback (imported by the test modules); the server itself is
tests/loopback.py's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from loopback import serving

__all__ = ["MB", "answering", "serving"]

MB = 1 << 20


Endpoint = Callable[[Request], Awaitable[Response]]


def answering(
    body: bytes | str, media_type: str | None = None, status: int = 200, **headers: str
) -> Endpoint:
    """An endpoint that always gives the same answer."""

    async def endpoint(request: Request) -> Response:
        return Response(body, status_code=status, media_type=media_type, headers=headers)

    return endpoint
