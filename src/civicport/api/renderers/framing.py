"""Coalescing encoded rows into response chunks of a size that streams well."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

# Big enough that per-chunk overhead (ASGI messages, socket writes, gzip calls) vanishes,
# small enough that the first bytes leave quickly and memory stays flat.
CHUNK_BYTES = 256 * 1024


def frame(
    items: Iterable[Sequence[bytes]], *, open_: bytes, sep: bytes, close: bytes
) -> Iterator[bytes]:
    """Join batches of encoded items as open_ item (sep item)* close, in ~CHUNK_BYTES chunks."""
    parts = [open_]
    size = 0
    first = True
    for batch in items:
        if not batch:
            continue
        body = sep.join(batch)
        if not first:
            parts.append(sep)
        first = False
        parts.append(body)
        size += len(body)
        if size >= CHUNK_BYTES:
            yield b"".join(parts)
            parts = []
            size = 0
    parts.append(close)
    yield b"".join(parts)
