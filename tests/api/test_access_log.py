"""The access log never holds a password-reset token."""

from __future__ import annotations

import logging
import logging.config

from civicport.api.access_log import log_config


def test_reset_tokens_are_cut_from_access_log_lines() -> None:
    logging.config.dictConfig(log_config())
    access = logging.getLogger("uvicorn.access")
    (handler,) = access.handlers  # the one that writes access lines
    token = "IjEi.ZxYw.s3cr3t-reset-token"
    record = access.makeRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/account/reset/{token}?x=1", "1.1", 200), None,
    )  # fmt: skip
    assert all(f.filter(record) for f in handler.filters)
    line = record.getMessage()
    assert token not in line
    assert "/account/reset/…?x=1" in line
    other = access.makeRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/resource/abcd-1234.json?$limit=5", "1.1", 200), None,
    )  # fmt: skip
    assert all(f.filter(other) for f in handler.filters)
    assert "/resource/abcd-1234.json?$limit=5" in other.getMessage()
