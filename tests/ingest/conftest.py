"""Helpers for reader tests: write a small file, read it back through read_file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from civicport.ingest.reader import read_file


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(name, text_or_bytes, encoding="utf-8") -> the path of a new file in tmp_path."""

    def write_file(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return write_file


def _load(path: Path, **kwargs: Any) -> tuple[dict[str, str], list[tuple[Any, ...]]]:
    table = read_file(path, **kwargs)
    return {c.field_name: c.soda_type for c in table.columns}, list(table.rows)


@pytest.fixture
def load() -> Callable[..., tuple[dict[str, str], list[tuple[Any, ...]]]]:
    """load(path, **read_file_kwargs) -> ({field_name: soda_type}, [row tuples])."""
    return _load
