"""Saving an upload a publisher reviewed in the browser: as a new dataset (private, internal, or
sent for publication), or as an existing dataset's new data, with the audit events of it.

The review page queues the save and the worker calls `save_upload` as the account that asked
(jobs.execute); whoever calls it has read the file with the chosen types and column names
(`rename_columns`). Approvals and the privacy guard apply as for any change made through
catalog.drafts: a publisher's new data for a public dataset of a department that needs approval
waits in the dataset's draft, and asking for publication publishes at once or submits a draft.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from civicport.auth.audit import record_event
from civicport.auth.principal import Principal
from civicport.catalog import drafts
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import ImportResult, import_table
from civicport.catalog.versions import list_versions
from civicport.config import Settings
from civicport.errors import InvalidUpload
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.privacy.decisions import Choice, PrivacyUnresolved

CREATE_CHOICES = ("private", "internal", "public")
REPLACE = "replace"
# What a save did: created private / internal, published, submitted for approval, left private
# because the privacy guard refused publication, replaced the data, or kept it in a draft.
OUTCOMES = ("private", "internal", "public", "submitted", "unpublished", "replaced", "draft")


@dataclass(frozen=True)
class ColumnName:
    """The names and description a publisher chose for one column of the file."""

    field_name: str
    display_name: str
    description: str = ""


@dataclass(frozen=True)
class SaveOutcome:
    """What `save_upload` did (one of OUTCOMES), and the version its rows made: None when no
    rows went live (kept in a draft)."""

    dataset_id: str
    outcome: str
    result: ImportResult | None


def rename_columns(
    specs: Sequence[ColumnSpec], names: Mapping[str, ColumnName]
) -> list[ColumnSpec]:
    """The read file's columns with the chosen names, by the file's field names (a column the
    reader added, like a location's address text, keeps its own)."""
    renamed = []
    for spec in specs:
        name = names.get(spec.field_name)
        renamed.append(
            spec
            if name is None
            else ColumnSpec(name.field_name, name.display_name, spec.soda_type, name.description)
        )
    return renamed


def save_upload(
    engine: sa.Engine,
    settings: Settings,
    principal: Principal,
    table: ParsedTable,
    *,
    dataset_id: str | None,
    metadata: DatasetMetadata | None,
    choice: str,
    row_identifier: str | None,
    privacy_decisions: Mapping[str, Choice],
    file_name: str,
    made_by: str,
    run_id: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SaveOutcome:
    """Store `table` as `principal`.

    `dataset_id` set: the dataset's new data (`choice` "replace"), through drafts.edit_dataset
    (applied, or kept in its draft). Otherwise a new dataset made of `metadata`, owned by
    `principal`: `choice` "private" or "internal" creates it so; "public" creates it private,
    then asks for publication (published at once, or a draft submitted to the approvers; left
    private when the privacy guard refuses). `privacy_decisions` and `row_identifier` name the
    columns by their chosen field names. The audit log records the import (`run_id`: the
    background run that made it) and each decision. InvalidUpload / Conflict as the catalog
    raises them; nothing is stored then.
    """
    if dataset_id is not None:
        if choice != REPLACE:
            raise InvalidUpload(f"New data for a dataset is saved with '{REPLACE}', not '{choice}'")
        return _replace(engine, settings, principal, table, dataset_id, privacy_decisions, run_id)
    if choice not in CREATE_CHOICES:
        raise InvalidUpload(f"Choose how to save the dataset: {', '.join(CREATE_CHOICES)}")
    if metadata is None:
        raise InvalidUpload("A new dataset needs its title and description.")
    audience = "internal" if choice == "internal" else "private"
    result = import_table(
        engine,
        table,
        metadata=dataclasses.replace(metadata, audience=audience),
        row_identifier=row_identifier,
        progress=progress,
        owner_id=principal.user_id,
        privacy_decisions=privacy_decisions,
        decided_by=principal.email,
        made_by=made_by,
    )
    with engine.begin() as conn:
        _record_import(conn, principal, result, file_name, run_id)
        _record_decisions(conn, principal, result.dataset_id, privacy_decisions, run_id)
    if choice != "public":
        return SaveOutcome(result.dataset_id, audience, result)
    return SaveOutcome(
        result.dataset_id, _ask_to_publish(engine, settings, principal, result, metadata), result
    )


def _replace(
    engine: sa.Engine,
    settings: Settings,
    principal: Principal,
    table: ParsedTable,
    dataset_id: str,
    privacy_decisions: Mapping[str, Choice],
    run_id: int | None,
) -> SaveOutcome:
    edited = drafts.edit_dataset(
        engine, settings, principal, dataset_id, table=table, privacy_decisions=privacy_decisions
    )
    with engine.begin() as conn:
        _record_decisions(conn, principal, dataset_id, privacy_decisions, run_id)
        if not edited.applied:
            return SaveOutcome(dataset_id, "draft", None)
        made = list_versions(conn, dataset_id)[0]  # the version the replace just made
    result = ImportResult(
        dataset_id=dataset_id,
        mode=REPLACE,
        rows_created=made.rows_added,
        rows_updated=made.rows_changed,
        rows_deleted=made.rows_removed,
        row_count=made.row_count,
        version=made.version,
    )
    return SaveOutcome(dataset_id, "replaced", result)


def _ask_to_publish(
    engine: sa.Engine,
    settings: Settings,
    principal: Principal,
    created: ImportResult,
    metadata: DatasetMetadata,
) -> str:
    """Make the just-created dataset public, or submit a draft that would: the outcome."""
    public = dataclasses.replace(metadata, audience="public")
    try:
        edited = drafts.edit_dataset(
            engine, settings, principal, created.dataset_id, metadata=public
        )
    except PrivacyUnresolved:
        # The guard read more than the review did: the dataset stays private, and its manage
        # page lists what is unresolved.
        return "unpublished"
    if edited.applied:
        return "public"
    drafts.submit_draft(engine, principal, created.dataset_id)
    return "submitted"


def _record_import(
    conn: sa.Connection,
    principal: Principal,
    result: ImportResult,
    file_name: str,
    run_id: int | None,
) -> None:
    """The import's audit event (it committed in its own transaction), as the command line
    records one; `run_id` names the background run that made it."""
    record_event(
        conn,
        actor=principal.email,
        action="dataset.import",
        dataset_id=result.dataset_id,
        detail={
            "mode": result.mode,
            "file": file_name,
            "source": "browser",
            "rows_created": result.rows_created,
            "row_count": result.row_count,
        }
        | _run(run_id),
    )


def _record_decisions(
    conn: sa.Connection,
    principal: Principal,
    dataset_id: str,
    decisions: Mapping[str, Choice],
    run_id: int | None,
) -> None:
    """One `privacy.decide` event per decision given with the data."""
    for column, choice in decisions.items():
        record_event(
            conn,
            actor=principal.email,
            action="privacy.decide",
            dataset_id=dataset_id,
            detail={"column": column, "decision": choice.action}
            | ({"reason": choice.reason} if choice.reason else {})
            | _run(run_id),
        )


def _run(run_id: int | None) -> dict[str, int]:
    return {"run_id": run_id} if run_id is not None else {}
