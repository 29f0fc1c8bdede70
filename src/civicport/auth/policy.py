"""The access policy: who may see and change which dataset.

`visible_dataset` is THE visibility rule for reading one dataset, and `readable_audiences` the
rule for lists (catalog API and pages, search, sitemap, counts): every door asks one of them, so
none can forget it. Reading doors are anonymous today, so only public datasets are visible there;
anything else answers exactly like a dataset that does not exist. `visible_to` and `can_write`
decide for a signed-in principal (today: a program holding an API key).

Until datasets record their owner and collaborators, a department owns its datasets: a private
dataset is visible to admins and to publishers of its department.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import sqlalchemy as sa

from civicport.auth.principal import Principal
from civicport.catalog.ids import is_dataset_id
from civicport.catalog.records import DatasetRecord
from civicport.catalog.store import dataset_stamp, get_dataset
from civicport.errors import NotFound

# Audiences anonymous readers may see (the policy before accounts arrive).
ANONYMOUS_AUDIENCES = ("public",)


def readable_audiences() -> tuple[str, ...]:
    """The audiences whose datasets the current reader may list and count."""
    return ANONYMOUS_AUDIENCES


def visible_to(principal: Principal | None, record: DatasetRecord) -> bool:
    """Whether `principal` (None: anonymous) may see the dataset at all."""
    if record.audience == "public":
        return True
    if principal is None:
        return False
    if record.audience == "internal" or principal.role == "admin":
        return True
    return _same_department(principal, record) and principal.role == "publisher"


def can_write(principal: Principal, record: DatasetRecord) -> bool:
    """Whether `principal` may change the dataset's rows: admins any, publishers their
    department's, viewers none."""
    if principal.role == "admin":
        return True
    return principal.role == "publisher" and _same_department(principal, record)


def _same_department(principal: Principal, record: DatasetRecord) -> bool:
    return principal.department is not None and principal.department == record.department


def missing(dataset_id: str) -> NotFound:
    """The one answer for a dataset that does not exist or may not be seen."""
    return NotFound("Not found", code="dataset.missing", data={"id": dataset_id})


def visible_dataset(conn: sa.Connection, dataset_id: str) -> DatasetRecord:
    """The dataset with this id if the reader may see it; NotFound otherwise (also for ids that
    are not 4x4s, which cannot name a dataset)."""
    if not is_dataset_id(dataset_id):
        raise missing(dataset_id)
    record = _records.get(conn, dataset_id)
    if record is None or record.audience not in readable_audiences():
        raise missing(dataset_id)
    return record


class _RecordCache:
    """Dataset records per engine, reused while the dataset's stamp is unchanged.

    Reading a whole record (dataset row and columns) costs more than a small page of rows; the
    stamp (data version, metadata time, audience) is one indexed lookup. Every change that
    matters to readers moves the stamp: a data change bumps data_version, a metadata edit
    metadata_updated_at. Keyed per engine so two databases never share entries; nothing here
    outlives a stale stamp, so several app processes need no coordination.
    """

    MAX_ENTRIES = 1024

    def __init__(self) -> None:
        self._by_engine: weakref.WeakKeyDictionary[sa.Engine, dict[str, tuple[Any, DatasetRecord]]]
        self._by_engine = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, conn: sa.Connection, dataset_id: str) -> DatasetRecord | None:
        stamp = dataset_stamp(conn, dataset_id)
        if stamp is None:
            return None
        with self._lock:
            entries = self._by_engine.setdefault(conn.engine, {})
            cached = entries.get(dataset_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            record = get_dataset(conn, dataset_id)
        except NotFound:
            return None
        with self._lock:
            if len(entries) >= self.MAX_ENTRIES:
                entries.clear()
            entries[dataset_id] = (stamp, record)
        return record


_records = _RecordCache()
