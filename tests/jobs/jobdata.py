"""What the job tests share besides fixtures: CSV rows, reading a dataset back, and the state of
the loopback servers (imported as `jobdata`: pytest puts this folder on sys.path)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from civicport.catalog.store import get_dataset

HEADER = ("case_id", "status", "amount")


def write_csv(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    lines = [",".join(HEADER)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def csv_rows(count: int, *, start: int = 0, status: str = "open") -> list[tuple[Any, ...]]:
    return [(f"C{i}", status, i) for i in range(start, start + count)]


def dataset_rows(engine: sa.Engine, dataset_id: str) -> list[tuple[Any, ...]]:
    """The dataset's current rows (its columns of HEADER), sorted."""
    with engine.connect() as conn:
        dataset = get_dataset(conn, dataset_id)
        names = ", ".join(f'"{c.field_name}"' for c in dataset.columns)
        rows = conn.exec_driver_sql(f'SELECT {names} FROM "{dataset.data_table}"').all()
    return sorted(tuple(str(v) for v in row) for row in rows)


def dataset_version(engine: sa.Engine, dataset_id: str) -> int:
    with engine.connect() as conn:
        return get_dataset(conn, dataset_id).data_version


@dataclass
class Loopback:
    """What the server answers per path (status, content type, body), the headers of each GET
    and the JSON POSTed to it."""

    url: str
    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    fetched: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    posted: list[tuple[str, Any]] = field(default_factory=list)


class Mailbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


MakeCsvDataset = Callable[..., str]
