"""The access policy: who may see and change which dataset. Every door asks it.

- `visible_to` / `visible_dataset`: reading one dataset. Public: everyone. Internal: any
  signed-in staff. Private: its owner, its collaborators, its department's publishers, admins.
- `read_scope`: the same rule for lists (catalog API and pages, search, counts), as a
  ReadScope the catalog turns into SQL.
- `can_write`: changing rows, metadata, audience and collaborators: admins any dataset;
  publishers their department's, their own and those they collaborate on; viewers none.
- `can_read_audit_log`, `can_choose_department`: admins' rights.
- `may_see_draft`, `can_approve`, `needs_approval`: drafts (catalog.drafts); a draft is hidden
  (404) from everyone but those who may change the dataset or approve it.

Whoever may not see a dataset gets exactly the answer for one that does not exist (`missing`):
hidden means not listed, not counted, and 404, never 403.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import sqlalchemy as sa

from civicport.auth.principal import Principal
from civicport.catalog.ids import is_dataset_id
from civicport.catalog.records import DatasetRecord
from civicport.catalog.search import PUBLIC_SCOPE, ReadScope
from civicport.catalog.store import dataset_stamp, get_dataset
from civicport.config import Settings
from civicport.db.schema import dataset_collaborators, datasets
from civicport.errors import Forbidden, NotFound

STAFF_AUDIENCES = ("public", "internal")


def read_scope(conn: sa.Connection, principal: Principal | None) -> ReadScope:
    """The datasets `principal` (None: anonymous) may list and count."""
    if principal is None:
        return PUBLIC_SCOPE
    if principal.role == "admin":
        return ReadScope(None)
    mine = sa.or_(
        datasets.c.owner_id == principal.user_id,
        datasets.c.id.in_(
            sa.select(dataset_collaborators.c.dataset_id).where(
                dataset_collaborators.c.user_id == principal.user_id
            )
        ),
    )
    if principal.role == "publisher" and principal.department is not None:
        mine = sa.or_(mine, datasets.c.department == principal.department)
    private = conn.execute(
        sa.select(datasets.c.id).where(datasets.c.audience == "private", mine)
    ).scalars()
    return ReadScope(STAFF_AUDIENCES, frozenset(private))


def visible_to(principal: Principal | None, record: DatasetRecord) -> bool:
    """Whether `principal` (None: anonymous) may see the dataset at all."""
    if record.audience == "public":
        return True
    if principal is None:
        return False
    if record.audience == "internal" or principal.role == "admin":
        return True
    return _is_owner_or_collaborator(principal, record) or _departments_publisher(principal, record)


def can_write(principal: Principal | None, record: DatasetRecord) -> bool:
    """Whether `principal` may change the dataset: rows, metadata, audience, collaborators."""
    if principal is None or principal.role == "viewer":
        return False
    if principal.role == "admin":
        return True
    return _is_owner_or_collaborator(principal, record) or _departments_publisher(principal, record)


def can_approve(principal: Principal | None, record: DatasetRecord, author_id: int | None) -> bool:
    """Whether `principal` may approve or reject a draft of the dataset written by `author_id`:
    admins any; a department approver their department's, but not their own draft."""
    if principal is None:
        return False
    if principal.role == "admin":
        return True
    return (
        principal.can_approve
        and _departments_publisher(principal, record)
        and principal.user_id != author_id
    )


def may_see_draft(
    principal: Principal | None, record: DatasetRecord, author_id: int | None
) -> bool:
    """Whether `principal` may know of (and preview) a draft of the dataset: those who may
    change the dataset or approve the draft. Anyone else is answered as if there were none."""
    return can_write(principal, record) or can_approve(principal, record, author_id)


def can_read_audit_log(principal: Principal | None) -> bool:
    """Whether `principal` may read the audit log (it names people and datasets): admins."""
    return principal is not None and principal.role == "admin"


def can_choose_department(principal: Principal) -> bool:
    """Whether `principal` may set a dataset's department: admins. A publisher's datasets stay
    in their own department, so they cannot hand one to another department's publishers."""
    return principal.role == "admin"


def needs_approval(settings: Settings, principal: Principal, record: DatasetRecord) -> bool:
    """Whether a change by `principal` that makes the dataset public, or changes a public
    dataset, must wait for an approver (the site's `approval_departments` setting)."""
    if principal.role == "admin":
        return False
    return settings.needs_approval(record.department)


def _is_owner_or_collaborator(principal: Principal, record: DatasetRecord) -> bool:
    return record.owner_id == principal.user_id or principal.user_id in record.collaborators


def _departments_publisher(principal: Principal, record: DatasetRecord) -> bool:
    return (
        principal.role == "publisher"
        and principal.department is not None
        and principal.department == record.department
    )


def missing(dataset_id: str) -> NotFound:
    """The one answer for a dataset that does not exist or may not be seen."""
    return NotFound("Not found", code="dataset.missing", data={"id": dataset_id})


def visible_dataset(
    conn: sa.Connection, dataset_id: str, principal: Principal | None = None
) -> DatasetRecord:
    """The dataset with this id if `principal` may see it; NotFound otherwise (also for ids
    that are not 4x4s, which cannot name a dataset)."""
    if not is_dataset_id(dataset_id):
        raise missing(dataset_id)
    record = _records.get(conn, dataset_id)
    if record is None or not visible_to(principal, record):
        raise missing(dataset_id)
    return record


def writable_dataset(
    conn: sa.Connection, dataset_id: str, principal: Principal | None
) -> DatasetRecord:
    """The dataset if `principal` may change it. NotFound when they may not even see it;
    Forbidden (403) when they see it but may not change it."""
    record = visible_dataset(conn, dataset_id, principal)
    if not can_write(principal, record):
        raise Forbidden(f"You may not change dataset '{dataset_id}'", data={"id": dataset_id})
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
