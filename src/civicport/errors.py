"""Domain errors. Each carries a message a person can act on; HTTP mapping lives in api/errors.py.

`code` is the SODA error code (``query.soql.no-such-column``…) where one applies, so every door
(API, CLI, pages) reports the same failure the same way.
"""

from __future__ import annotations

from typing import Any


class CivicportError(Exception):
    """Base of every error the portal reports to a person."""

    code = "internal"

    def __init__(
        self, message: str, *, code: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.data = data or {}


class NotFound(CivicportError):
    code = "dataset.missing"


class InvalidQuery(CivicportError):
    """A SoQL query that cannot be run.

    Syntax errors carry query.compiler.malformed, errors of meaning query.soql.*.
    """

    code = "query.compiler.malformed"


class InvalidUpload(CivicportError):
    """A file that cannot be imported; the message names the row and column where it can."""

    code = "upload.invalid"


class Conflict(CivicportError):
    code = "dataset.conflict"


class NotAuthenticated(CivicportError):
    """No credentials, or wrong ones, where a door needs to know who is asking."""

    code = "authentication_required"


class Forbidden(CivicportError):
    """Who is asking is known, and may not do this."""

    code = "permission_denied"


class PayloadTooLarge(CivicportError):
    code = "req.body.too-large"


class UnsupportedMediaType(CivicportError):
    code = "req.content-type.not-json"
