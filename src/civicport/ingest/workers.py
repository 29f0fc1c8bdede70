"""Both passes of a large load spread over worker processes.

A load reads the file once to infer and check types (infer.scan) and then converts every
chunk to what the database stores (reader.py, datastore.convert). On a million rows each pass
costs as much time as the database insert itself, and every chunk is worked on by itself. So
for a large file, worker processes check and convert chunks (in order, a few at a time) while
the loading process parses the file and inserts what they hand back. Chunks travel as encoded
bytes (infer.encode: marshal for plain values, several times faster than pickle), and only a
few are in flight at once, so memory does not grow with the file.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from civicport.errors import InvalidUpload
from civicport.ingest.chunks import Chunk, decode, decode_chunk, encode
from civicport.ingest.records import ColumnFinisher

Item = TypeVar("Item")
Result = TypeVar("Result")
Column = list[Any]
MAX_WORKERS = 4
IN_FLIGHT_PER_WORKER = 2


def worker_count() -> int:
    return min(MAX_WORKERS, os.cpu_count() or 1)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk load.

    A load allocates millions of small lists and strings and makes no reference cycles, yet
    each few hundred allocations start a collection that walks the young objects again: about
    a quarter of the first pass on a million rows. Reference counting still frees everything
    as usual. (The collector is per process: a web server loading in a thread pauses it for
    its other threads too, for the length of the load.)
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def map_in_workers(
    function: Callable[[Item], Result], items: Iterable[Item], *, workers: int
) -> Iterator[Result]:
    """`function(item)` for each item, computed in `workers` processes and yielded in order.
    `function` must be picklable (a module-level function, or a functools.partial of one).
    An InvalidUpload raised in a worker is raised here, with its message and data."""
    # forkserver: workers start from a clean process, not a fork of this one and its threads.
    context = multiprocessing.get_context("forkserver")
    # Workers do nothing but load work: no cyclic collection there at all (see paused_gc).
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=gc.disable
    ) as pool:
        pending: deque[concurrent.futures.Future[tuple[bool, Any, dict[str, Any]]]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(_call, function, item))
                if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                    yield _outcome(pending.popleft())
            while pending:
                yield _outcome(pending.popleft())
        finally:
            for future in pending:
                future.cancel()


def convert_in_workers(
    blobs: Iterable[bytes],
    convert: Callable[[Chunk], list[Column]],
    finish: ColumnFinisher,
    *,
    workers: int,
) -> Iterator[list[Column]]:
    """`finish(convert(chunk))` for each encoded chunk, in worker processes, in order."""
    work = functools.partial(_convert_encoded, convert, finish)
    for blob in map_in_workers(work, blobs, workers=workers):
        columns: list[Column] = decode(blob)
        yield columns


def _convert_encoded(
    convert: Callable[[Chunk], list[Column]], finish: ColumnFinisher, blob: bytes
) -> bytes:
    return encode(finish(convert(decode_chunk(blob))))


def _call(function: Callable[[Item], Result], item: Item) -> tuple[bool, Any, dict[str, Any]]:
    try:
        return True, function(item), {}
    except InvalidUpload as exc:  # sent back as plain values: exceptions may not unpickle
        return False, exc.message, exc.data


def _outcome(future: concurrent.futures.Future[tuple[bool, Any, dict[str, Any]]]) -> Any:
    ok, value, data = future.result()
    if not ok:
        raise InvalidUpload(value, data=data)
    return value
