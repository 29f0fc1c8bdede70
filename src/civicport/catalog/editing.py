"""Live edits: a dataset's metadata, audience, rows and collaborators changed at once.

catalog.drafts decides whether a change waits for an approver; whatever goes live — at once, or
when a draft is approved — is staged by `stage` and applied by `go_live`, so both ways load,
check and record a change the same way: through the privacy guard, in the caller's transaction,
refused as a whole if the dataset would be public with personal data left unresolved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from civicport.auth.accounts import user_by_email
from civicport.auth.audit import record_event
from civicport.auth.policy import writable_dataset
from civicport.auth.principal import Principal
from civicport.catalog import service, store
from civicport.catalog.records import DatasetMetadata, DatasetRecord
from civicport.catalog.rescan import rescan_live_rows
from civicport.catalog.versions import forget_earlier_versions
from civicport.datastore.transactions import write_transaction
from civicport.errors import Conflict, InvalidUpload, NotFound
from civicport.ingest.records import ParsedTable
from civicport.privacy.decisions import Choice, Given, is_pending
from civicport.privacy.guard import GuardedTable, check_publishable, guard_table, record_guarded
from civicport.privacy.store import decisions as kept_decisions


@dataclass(frozen=True)
class Staged:
    """New rows, loaded and not yet the dataset's, with what the privacy guard found in them
    and decided about them (kept for the dataset when the rows go live)."""

    rows: service.StagedRows
    privacy: GuardedTable


def stage(
    conn: sa.Connection,
    principal: Principal,
    live: DatasetRecord,
    proposed: DatasetRecord,
    table: ParsedTable,
    privacy_decisions: Mapping[str, Choice] | None,
    *,
    draft: bool,
    now: dt.datetime,
    stored_rows: bool = False,
) -> Staged:
    """Load `table` as the next rows of `live` through the privacy guard: scanned under the
    `proposed` category, the dataset's decisions and `privacy_decisions` (made by `principal`)
    applied as the rows stream. Rows that would go public at once (not `draft`) are refused
    before any is written when something is unresolved; a draft's are checked on approval.
    `stored_rows`: `table` is the dataset's live rows read back (privacy.guard.guard_table)."""
    given = Given(dict(privacy_decisions), principal.email) if privacy_decisions else None
    guarded = guard_table(
        conn,
        live.id,
        table,
        category=proposed.category,
        decisions=given,
        whole=True,
        public=not draft and proposed.audience == "public",
        stored_rows=stored_rows,
    )
    rows = service.stage_rows(conn, live, guarded.table, now=now, draft=draft)
    return Staged(rows, guarded)


def go_live(
    conn: sa.Connection,
    principal: Principal,
    live: DatasetRecord,
    metadata: DatasetMetadata | None,
    staged: Staged | None,
    *,
    now: dt.datetime,
) -> list[str]:
    """Make `metadata` (None: unchanged) and the `staged` rows (None: unchanged) the dataset's,
    in the caller's transaction, and record each change in the audit log. Returns the tables to
    drop once that commits: when the staged rows went through privacy decisions the live rows
    had not, the dataset's earlier versions, which still hold what the decisions removed.

    The privacy guard has the last word: if the dataset is to be public, an unresolved finding
    raises and the caller's rollback undoes everything. Conflict when the dataset's privacy
    decisions changed after the rows were staged (they did not go through the new ones). The
    """
    if metadata is not None:
        columns = staged.rows.columns if staged else live.columns
        service.update_metadata(conn, live, metadata, columns=columns, now=now)
    unused: list[str] = []
    if staged is not None:
        _check_decisions_unchanged(conn, live.id, staged.privacy)
        rewritten = any(is_pending(d) for d in kept_decisions(conn, live.id))
        # The rows change for readers now, not when they were staged.
        state = dataclasses.replace(staged.rows.state, data_updated_at=now)
        service.apply_staged(
            conn, live, dataclasses.replace(staged.rows, state=state), made_by=principal.email
        )
        record_guarded(conn, live.id, staged.privacy)
        if rewritten:
            unused = forget_earlier_versions(conn, store.get_dataset(conn, live.id))
    audience = metadata.audience if metadata else live.audience
    if audience == "public":
        if staged is None:
            rescan_live_rows(conn, live, metadata.category if metadata else live.category)
        check_publishable(conn, live.id)
    _record_changes(conn, principal, live, metadata, staged)
    return unused


def _check_decisions_unchanged(conn: sa.Connection, dataset_id: str, used: GuardedTable) -> None:
    """Conflict unless every decision the dataset keeps now is one the staged rows went
    through: a column decided "hash" after a draft's rows were staged is not hashed in them,
    and approving them would mark the decision applied."""
    went_through = {name: (d.action, d.kinds) for name, d in used.decisions.items()}
    replaced = {d.field_name for d in used.given}  # kept anew when the rows go live
    for decision in kept_decisions(conn, dataset_id):
        if decision.field_name in replaced:
            continue
        if went_through.get(decision.field_name) != (decision.action, decision.kinds):
            raise Conflict(
                f"The privacy decision on column '{decision.field_name}' of dataset "
                f"'{dataset_id}' changed after this data was prepared; upload it again so it "
                "goes through the decision"
            )


def _record_changes(
    conn: sa.Connection,
    principal: Principal,
    live: DatasetRecord,
    metadata: DatasetMetadata | None,
    staged: Staged | None,
) -> None:
    """One audit event per kind of change: the audience (from/to), other metadata fields (by
    name), the rows (counts)."""
    events: list[tuple[str, dict[str, object]]] = []
    if metadata is not None:
        if metadata.audience != live.audience:
            events.append(
                ("dataset.audience_change", {"from": live.audience, "to": metadata.audience})
            )
        changed = sorted(
            f.name
            for f in dataclasses.fields(metadata)
            if f.name != "audience" and getattr(metadata, f.name) != getattr(live, f.name)
        )
        if changed:
            events.append(("dataset.metadata_edit", {"fields": changed}))
    if staged is not None:
        count = staged.rows.state.row_count
        events.append(
            (
                "dataset.replace",
                {"rows_created": count, "rows_deleted": live.row_count, "row_count": count},
            )
        )
    for action, detail in events:
        record_event(conn, actor=principal.email, action=action, dataset_id=live.id, detail=detail)


def set_collaborators(
    engine: sa.Engine, principal: Principal, dataset_id: str, emails: Sequence[str]
) -> None:
    """Make the accounts with these emails the dataset's collaborators (they see it while it is
    private and change it like its owner); an empty list removes them all.

    NotFound / Forbidden as for any change (auth.policy.writable_dataset); InvalidUpload naming
    every email that has no account, and then nothing changes.
    """
    now = dt.datetime.now(dt.UTC)
    addresses = list(dict.fromkeys(e.strip().lower() for e in emails if e.strip()))
    with write_transaction(engine) as conn:
        writable_dataset(conn, dataset_id, principal)
        user_ids, unknown = [], []
        for address in addresses:
            try:
                user_ids.append(user_by_email(conn, address).user_id)
            except NotFound:
                unknown.append(address)
        if unknown:
            raise InvalidUpload(
                f"No account for {', '.join(unknown)}: collaborators need an account "
                "(an admin adds one with `civicport users add`)"
            )
        store.set_collaborators(conn, dataset_id, user_ids, now)
        record_event(
            conn,
            actor=principal.email,
            action="dataset.collaborators",
            dataset_id=dataset_id,
            detail={"collaborators": addresses},
        )
