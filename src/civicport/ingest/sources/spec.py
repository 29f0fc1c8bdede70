"""What a source is — its kind, where it lives, its headers and options — and the checks and
masking that need neither the network nor the disk."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from civicport.errors import InvalidUpload

SOURCE_KINDS = ("url", "file", "sql", "soda", "ckan", "arcgis")

# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Query parameters that carry credentials: their values never appear in descriptions.
_SECRET_PARAM = re.compile(r"key|token|secret|password|passwd|pwd|signature|sig$|auth", re.I)
MASK = "***"


class SourceError(InvalidUpload):
    """A source that cannot be fetched; the message says what to change or whom to ask."""

    code = "source.failed"


@dataclass(frozen=True)
class SourceSpec:
    """Where a dataset's data lives.

    `location` is a URL (url, soda, ckan, arcgis), an absolute file path (file) or a SQLAlchemy
    database URL (sql); `query` is the SQL query of a sql source. `headers` are sent with every
    HTTP request (API keys); `options` tune a kind (see docs/sources.md).
    """

    kind: str
    location: str
    query: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)


def check_kind(spec: SourceSpec) -> None:
    if spec.kind not in SOURCE_KINDS:
        raise SourceError(
            f"Unknown kind of source {spec.kind!r}; the kinds are: {', '.join(SOURCE_KINDS)}."
        )
    if not spec.location or not spec.location.strip():
        raise SourceError(f"A {spec.kind} source needs a location.")


def check_headers(headers: Mapping[str, str]) -> None:
    """Header names must be tokens and values single lines: a newline in either would let a
    value forge further headers."""
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise SourceError(
                f"The header name {name!r} is not valid: use letters, digits and dashes only."
            )
        if not isinstance(value, str) or _CONTROL.search(value):
            raise SourceError(
                f"The value of header {name!r} is not valid: it must be one line of text."
            )


# Options of every kind: they tell the reader which part of the fetched file to import.
READER_OPTIONS = frozenset({"sheet", "layer"})


def check_options(spec: SourceSpec, allowed: frozenset[str]) -> None:
    known = allowed | READER_OPTIONS
    for name, value in spec.options.items():
        if name not in known:
            raise SourceError(
                f"A {spec.kind} source has no option {name!r}; "
                f"its options are: {', '.join(sorted(known))}."
            )
        if name in READER_OPTIONS and not (isinstance(value, str) and value.strip()):
            raise SourceError(f"The {name} option must name a {name}, not {value!r}.")


def page_size_option(spec: SourceSpec, default: int) -> int:
    """The `page_size` option: rows (or features) asked for per request."""
    value = spec.options.get("page_size", default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SourceError(f"The page_size option must be a whole number above 0, not {value!r}.")
    return value


def check_web_address(location: str) -> None:
    """An http(s) URL with a host name: nothing else can be fetched over the web."""
    parts = urlsplit(location.strip())
    if parts.scheme.lower() not in ("http", "https"):
        raise SourceError(
            f"The address {mask_url(location)} cannot be fetched: "
            "it must start with http:// or https://."
        )
    if not parts.hostname:
        raise SourceError(f"The address {mask_url(location)} has no host name.")
    if _CONTROL.search(location):
        raise SourceError(f"The address {mask_url(location)} holds control characters.")


def mask_url(url: str) -> str:
    """The URL with its password and the values of credential-like query parameters
    (api_key, token, …) replaced by ***, for messages and descriptions."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            userinfo, _, host = netloc.rpartition("@")
            netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{host}"
    except ValueError:  # not parseable as a URL: show nothing of it that could be secret
        return MASK
    query = parse_qsl(parts.query, keep_blank_values=True)
    masked = [(k, MASK if is_secret(k) else v) for k, v in query]
    new_query = urlencode(masked, safe="*$:/,") if query else parts.query
    return urlunsplit((parts.scheme, netloc, parts.path, new_query, parts.fragment))


def is_secret(parameter: str) -> bool:
    """Whether a query parameter's name says it carries a credential."""
    return bool(_SECRET_PARAM.search(parameter))
