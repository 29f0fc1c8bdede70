"""Copyable code that asks the API for what a dataset page shows (curl, Python, JavaScript)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import urlencode


def api_examples(
    endpoint: str, params: Sequence[tuple[str, str]], host: str, dataset_id: str
) -> dict[str, str]:
    """Plain-text snippets, keyed by language, for GET `endpoint` with SODA `params`."""
    query = urlencode(params)
    url = endpoint + (f"?{query}" if query else "")
    curl = [f"curl --get '{endpoint}'"]
    curl += [f"  --data-urlencode {_shell_quote(f'{name}={value}')}" for name, value in params]
    python = [
        "from sodapy import Socrata",
        "",
        f"client = Socrata({host!r}, None)  # an app token raises the rate limits",
        f"rows = client.get({dataset_id!r}"
        + "".join(f", {name.lstrip('$')}={value!r}" for name, value in params)
        + ")",
    ]
    javascript = [
        f"const response = await fetch({json.dumps(url)});",
        "const rows = await response.json();",
    ]
    return {
        "curl": " \\\n".join(curl),
        "python": "\n".join(python),
        "javascript": "\n".join(javascript),
    }


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
