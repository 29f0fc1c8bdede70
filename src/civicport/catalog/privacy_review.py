"""Privacy decisions on a dataset already loaded: recorded, then applied to its stored rows.

    decide_columns(engine, principal, "abcd-1234", {"email": Choice("hash")})
    result = apply_pending(engine, settings, principal, "abcd-1234")

A drop, hash or generalize decided after the rows were loaded is *pending*: the stored rows do
not reflect it, so the dataset cannot be made public. `apply_pending` reads the live rows back
(catalog.live_rows) and loads them again as a replace through catalog.drafts.edit_dataset, so
the change is checked and audited like any new data, and waits in the dataset's draft when the
person needs an approver for it. Decisions already applied are not applied twice.

A replace loads new rows: they keep their values (as decided) and their order, but get new
`:id`s (after the old ones, so an id never names two rows) and `:created_at`/`:updated_at` of
the moment, as any replace does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from civicport.auth.audit import record_event
from civicport.auth.policy import writable_dataset
from civicport.auth.principal import Principal
from civicport.catalog import drafts
from civicport.catalog.live_rows import live_table
from civicport.catalog.store import get_dataset
from civicport.config import Settings
from civicport.datastore.transactions import write_transaction
from civicport.errors import Conflict
from civicport.privacy import store
from civicport.privacy.decisions import Choice, Decision, is_pending


@dataclass(frozen=True)
class Applied:
    """What apply_pending did: the decisions the stored rows went through, how many rows, and
    whether they are live now or wait in the dataset's draft for an approver."""

    decisions: tuple[Decision, ...]
    row_count: int
    live: bool


def decide_columns(
    engine: sa.Engine, principal: Principal, dataset_id: str, choices: Mapping[str, Choice]
) -> list[Decision]:
    """Record `principal`'s decision on each column (field name → choice), all or none, each
    with an audit event `privacy.decide`. A decision that changes values stays pending until
    apply_pending (or a replace) applies it.

    NotFound / Forbidden as for any change (auth.policy.writable_dataset); InvalidUpload for an
    unknown column, an accept without a reason or a generalize the column's kinds do not allow.
    """
    with write_transaction(engine) as conn:
        writable_dataset(conn, dataset_id, principal)
        made = []
        for column, choice in choices.items():
            decision = store.decide(
                conn, dataset_id, column, choice.action, reason=choice.reason, actor=principal.email
            )
            record_event(
                conn,
                actor=principal.email,
                action="privacy.decide",
                dataset_id=dataset_id,
                detail={"column": column, "decision": decision.action, "reason": decision.reason},
            )
            made.append(decision)
        return made


def pending_decisions(conn: sa.Connection, dataset_id: str) -> list[Decision]:
    """The dataset's decisions its stored rows do not reflect yet."""
    return [d for d in store.decisions(conn, dataset_id) if is_pending(d)]


def apply_pending(
    engine: sa.Engine,
    settings: Settings,
    principal: Principal,
    dataset_id: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> Applied | None:
    """Load the dataset's live rows again through its pending decisions, as `principal`; None
    when no decision is pending. `progress` is told the number of rows read.

    NotFound / Forbidden as for any change; Conflict when the dataset has a draft with new data
    (its staged rows would be replaced by the live ones: upload the file to the draft again
    instead, or discard it) or its rows change meanwhile; InvalidUpload when a value cannot be
    generalised; PrivacyUnresolved when the dataset is public and something else is
    unresolved. Nothing changes when any is raised.
    """
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
        pending = pending_decisions(conn, dataset_id)
        draft = drafts.get_draft(conn, dataset_id)
    if not pending:
        return None
    if draft is not None and draft.has_data:
        raise Conflict(
            f"Dataset '{dataset_id}' has a draft with new data, which did not go through these "
            "decisions: upload the file to the draft again (its rows then do), or discard the "
            "draft and apply the decisions to the live rows"
        )
    with live_table(engine, record, progress=progress) as table:
        outcome = drafts.edit_dataset(
            engine, settings, principal, dataset_id, table=table, stored_rows=True
        )
    if outcome.draft is not None:
        row_count = outcome.draft.row_count or 0
    else:
        with engine.connect() as conn:
            row_count = get_dataset(conn, dataset_id).row_count
    applied = Applied(tuple(pending), row_count, outcome.applied)
    with engine.begin() as conn:
        record_event(
            conn,
            actor=principal.email,
            action="privacy.apply",
            dataset_id=dataset_id,
            # A list, not a mapping: column names are not keys (audit details refuse keys that
            # name a secret, and a column may be called "password_hash").
            detail={
                "decisions": [{"column": d.field_name, "decision": d.action} for d in pending],
                "row_count": row_count,
                "live": outcome.applied,
            },
        )
    return applied
