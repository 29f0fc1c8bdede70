"""Kind "url", and HTTP for every web source: one client setup, transport and status errors
turned into plain sentences, and a streamed download that keeps to the size limit."""

from __future__ import annotations

import contextlib
import email.message
import io
import ipaddress
import socket
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import orjson

from civicport import __version__
from civicport.ingest.sources import formats
from civicport.ingest.sources.output import Target, new_output, too_large
from civicport.ingest.sources.spec import SourceError, SourceSpec, check_web_address, mask_url

USER_AGENT = f"civicport/{__version__} (scheduled data sync)"
OPTIONS = frozenset({"format"})

# Words in the errors the system resolver gives for a host name that does not exist.
_NAME_NOT_FOUND = (
    "name or service not known",
    "nodename nor servname",
    "name resolution",
    "getaddrinfo failed",
    "no address associated",
    "errno -2]",
    "errno -3]",
    "errno -5]",
)


def check(spec: SourceSpec, allowed_dirs: Sequence[Path] | None) -> None:
    check_web_address(spec.location)
    if "format" in spec.options:
        formats.format_option(spec.options["format"])


def describe(spec: SourceSpec) -> str:
    return f"URL {mask_url(spec.location)}"


def fetch(spec: SourceSpec, target: Target) -> Path:
    forced = formats.format_option(spec.options["format"]) if "format" in spec.options else None
    return download(target, spec.location.strip(), headers=spec.headers, forced=forced)


def client(headers: Mapping[str, str], target: Target) -> httpx.Client:
    """An HTTP client for one fetch. Unless the target allows private networks, every request
    (redirects included) to an address of the server's own networks — loopback, private
    ranges, link-local such as cloud metadata services — is refused before it is sent, so a
    source cannot make the portal read what only the server can reach."""
    hooks = [] if target.private_networks else [_refuse_private]
    return httpx.Client(
        headers={"User-Agent": USER_AGENT, **headers},
        timeout=target.timeout,
        follow_redirects=True,
        event_hooks={"request": hooks},
    )


def _refuse_private(request: httpx.Request) -> None:
    host = request.url.host
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return  # the connection attempt reports an unknown host in its own words
    for address in found:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise SourceError(
                f"{host} is an address inside the server's own network ({ip}); sources may "
                "only fetch from the internet (the source_private_networks setting allows them)"
            )


@contextlib.contextmanager
def answer(
    http: httpx.Client, url: str, *, params: Mapping[str, Any] | None = None, check: bool = True
) -> Iterator[httpx.Response]:
    """A streamed GET. Failures to connect, time-outs and (with `check`) error statuses raise
    SourceError, also while the caller reads the body."""
    host = _host(url)
    try:
        with http.stream("GET", url, params=params) as response:
            if check:
                check_status(response)
            yield response
    except httpx.TimeoutException:
        seconds = http.timeout.read or 0
        raise SourceError(f"{host} did not answer within {seconds:g} seconds.") from None
    except httpx.ConnectError as exc:
        raise SourceError(_connect_failure(host, exc)) from None
    except httpx.TooManyRedirects:
        raise SourceError(
            f"{host} sent the request round in circles (too many redirects)."
        ) from None
    except httpx.HTTPError as exc:
        raise SourceError(
            f"the connection to {host} broke off: {exc or type(exc).__name__}."
        ) from None


def check_status(response: httpx.Response) -> None:
    """SourceError for a 4xx or 5xx answer, with what to do about the common ones."""
    status = response.status_code
    if status < 400:
        return
    reason = response.reason_phrase or httpx.codes.get_reason_phrase(status)
    said = f"{_host(str(response.url))} answered {status} {reason}".rstrip()
    if status in (401, 403):
        raise SourceError(
            f"{said}: it wants credentials or does not let this key in. Check the API key "
            "header of this source (headers), or ask the data's owner for access."
        )
    if status in (404, 410):
        raise SourceError(f"{said}: there is nothing at this address; check it.")
    if status == 429:
        raise SourceError(f"{said}: it limits how often it may be asked; try again later.")
    if status >= 500:
        raise SourceError(f"{said}: the server failed; try again later or tell its owner.")
    raise SourceError(f"{said}.")


def read_json(response: httpx.Response, max_bytes: int) -> Any:
    """The answer's body parsed as JSON, read up to max_bytes."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise too_large(max_bytes)
    if formats.is_html(response.headers.get("content-type"), bytes(body[:64])):
        raise SourceError(WEB_PAGE)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SourceError(
            f"{_host(str(response.url))} answered with something that is not JSON; "
            "check the address."
        ) from None


def download(
    target: Target,
    url: str,
    *,
    headers: Mapping[str, str],
    forced: str | None = None,
    hint: str | None = None,
) -> Path:
    """GET `url` into a new file of target.into, streamed, and return its path.

    Its suffix is `forced`, else the address's or the server's file name's, else `hint`
    (a format the source's catalog states), else the Content-Type's, else the first bytes'.
    """
    with client(headers, target) as http, answer(http, url) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > target.max_bytes:
            raise too_large(target.max_bytes)
        chunks = response.iter_bytes()
        start = _first_bytes(chunks, formats.SNIFF_BYTES)
        content_type = response.headers.get("content-type")
        if formats.is_html(content_type, start):
            raise SourceError(WEB_PAGE)
        if not start:
            raise SourceError(f"{_host(url)} answered with nothing: the file is empty.")
        name = _file_name(response) or PurePosixPath(httpx.URL(url).path).name
        suffix = (
            forced
            or formats.path_suffix(httpx.URL(url).path)
            or formats.path_suffix(name)
            or hint
            or formats.content_type_suffix(content_type)
            or formats.sniffed_suffix(start)
        )
        with new_output(target, name, suffix) as output:
            output.write(start)
            for chunk in chunks:
                output.write(chunk)
        return output.path


WEB_PAGE = (
    "it returned a web page, not data: check the address (it must lead to the file itself, "
    "not to a page about it or a sign-in page)."
)


def _first_bytes(chunks: Iterator[bytes], size: int) -> bytes:
    start = b""
    for chunk in chunks:
        start += chunk
        if len(start) >= size:
            break
    return start


def _file_name(response: httpx.Response) -> str | None:
    """The file name the server gives (Content-Disposition), else the final address's."""
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = email.message.Message()
        message["content-disposition"] = disposition
        given = message.get_filename()
        if given:
            return PurePosixPath(given.replace("\\", "/")).name
    return PurePosixPath(response.url.path).name or None


def _host(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "the server"
    return f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host


def _connect_failure(host: str, exc: httpx.ConnectError) -> str:
    said = str(exc).lower()
    if any(words in said for words in _NAME_NOT_FOUND):
        return f"could not find the server {host}: check the host name in the address."
    if "refused" in said or "errno 111]" in said:
        return (
            f"{host} refused the connection: check the address and port, "
            "and whether the server is running."
        )
    if "certificate" in said:
        return f"the security certificate of {host} could not be verified ({exc})."
    return f"could not connect to {host}: {exc}."


class _ChunkReader(io.RawIOBase):
    """Chunks of bytes read as a file, so text and CSV readers can stream them."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._rest = memoryview(chunk)
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


def text_lines(response: httpx.Response) -> io.TextIOWrapper:
    """The answer's body as UTF-8 text, streamed, line endings kept for the csv module."""
    raw = io.BufferedReader(_ChunkReader(response.iter_bytes()))
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
