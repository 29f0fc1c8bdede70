"""The file a fetch writes: a new file in the target directory, counted against the size limit
as it is written, reported to `progress` now and then, and removed if the fetch fails."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from civicport.ingest.sources.spec import SourceError

PROGRESS_INTERVAL = 0.5  # seconds between two progress reports
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Target:
    """What every kind of source is given: the folder to write into, and the limits to keep."""

    into: Path
    max_bytes: int
    timeout: float
    progress: Callable[[int], None] | None = None
    # False: refuse web addresses inside the server's own networks (see http.client).
    private_networks: bool = True


def size_text(size: int) -> str:
    """A byte count as people say it: '250 MB', '1.5 GB', '64 KB', '40 bytes'."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def too_large(max_bytes: int) -> SourceError:
    return SourceError(
        f"the data is larger than the {size_text(max_bytes)} limit for one source; "
        "ask the administrator to raise the limit, or fetch less (a filtered query or export)."
    )


class Meter:
    """Counts bytes against max_bytes and reports the count to `progress`, at most every
    PROGRESS_INTERVAL seconds and once more at the end."""

    def __init__(self, target: Target) -> None:
        self.count = 0
        self._max_bytes = target.max_bytes
        self._progress = target.progress
        self._last_report = time.monotonic()

    def add(self, size: int) -> None:
        self.count += size
        if self.count > self._max_bytes:
            raise too_large(self._max_bytes)
        if self._progress is not None and time.monotonic() - self._last_report >= (
            PROGRESS_INTERVAL
        ):
            self._last_report = time.monotonic()
            self._progress(self.count)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress(self.count)


class Output:
    """A new file being written; every byte passes the meter first."""

    def __init__(self, path: Path, file: IO[bytes], meter: Meter) -> None:
        self.path = path
        self._file = file
        self.meter = meter

    def write(self, data: bytes) -> int:
        self.meter.add(len(data))
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def text(self) -> TextOutput:
        """The file as UTF-8 text, for csv.writer."""
        return TextOutput(self)


class TextOutput:
    """An Output taking text: what csv.writer writes to."""

    def __init__(self, output: Output) -> None:
        self._output = output

    def write(self, text: str) -> int:
        self._output.write(text.encode("utf-8"))
        return len(text)


@contextlib.contextmanager
def new_output(target: Target, name: str, suffix: str) -> Iterator[Output]:
    """A new file in target.into named after `name` (made safe, numbered if taken) with
    `suffix`; deleted if the block raises, so a failed fetch leaves nothing behind."""
    meter = Meter(target)
    path, file = _claim(target.into, _safe_stem(name, suffix), suffix)
    try:
        with file:
            output = Output(path, file, meter)
            yield output
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    meter.finish()


def _safe_stem(name: str, suffix: str) -> str:
    stem = name[: -len(suffix)] if name.lower().endswith(suffix) else Path(name).stem
    return _UNSAFE_NAME.sub("-", stem).strip(".-")[:80] or "data"


def _claim(into: Path, stem: str, suffix: str) -> tuple[Path, IO[bytes]]:
    """Open a file that did not exist: 'permits.csv', else 'permits-2.csv', …"""
    for number in range(1, 1000):
        path = into / (f"{stem}{suffix}" if number == 1 else f"{stem}-{number}{suffix}")
        try:
            return path, path.open("xb")
        except FileExistsError:
            continue
    raise SourceError(f"{into} already holds too many files named {stem}{suffix}.")
