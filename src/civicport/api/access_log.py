"""The HTTP access log, without the secrets some addresses carry.

A password-reset link holds its token in the path (/account/reset/{token}); Uvicorn's access log
writes every path, so the token is cut out before the line is written. The filter is part of
the logging configuration handed to Uvicorn, so every worker process applies it.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

_RESET_TOKEN = re.compile(r"(/account/reset/)[^/?#\s]+")


class RedactSecrets(logging.Filter):
    """Replaces the token of a reset link in an access-log record's path with '…'."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Uvicorn's access records carry (client, method, path, http version, status) as args.
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            if isinstance(args[2], str):
                args[2] = _RESET_TOKEN.sub(r"\1…", args[2])
                record.args = tuple(args)
        return True


def log_config() -> dict[str, Any]:
    """Uvicorn's default logging configuration with RedactSecrets on the access log."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": RedactSecrets}
    config["handlers"]["access"]["filters"] = ["redact_secrets"]
    return config
