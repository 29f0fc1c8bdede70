"""What the review page saves: a staged upload as a new dataset, or as an existing dataset's new
data, through the catalog service and drafts (so approvals and the privacy guard apply).

`Review` holds the page's state — the upload, the dataset it replaces (if any), the metadata,
the schema and the privacy decisions — and `save` turns a complete review into a dataset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from civicport.auth.audit import record_event
from civicport.auth.policy import can_choose_department, writable_dataset
from civicport.auth.principal import Principal
from civicport.catalog import drafts
from civicport.catalog.records import DatasetMetadata, DatasetRecord
from civicport.catalog.service import ImportResult, import_table
from civicport.config import Settings
from civicport.privacy import store as privacy_store
from civicport.privacy.decisions import Choice, PrivacyUnresolved
from civicport.privacy.findings import Finding
from civicport.privacy.scan import is_sensitive_category
from civicport.web.routes.manage_forms import (
    ColumnChoice,
    FlaggedColumn,
    SchemaChoice,
    flagged_columns,
    metadata_of,
)
from civicport.web.routes.manage_staging import (
    StagedUpload,
    claimed,
    read_staged,
    scan_parsed,
)


@dataclass(frozen=True)
class Review:
    """The review page's state. `dataset` is the dataset whose data the upload replaces (None:
    a new dataset); `metadata` is what the form shows (a replace keeps the dataset's)."""

    staged: StagedUpload
    dataset: DatasetRecord | None
    metadata: DatasetMetadata
    schema: SchemaChoice
    flagged: tuple[FlaggedColumn, ...]
    department_fixed: bool  # a publisher publishes for their own department only

    @property
    def replacing(self) -> bool:
        return self.dataset is not None

    def column_names(self) -> dict[str, str]:
        """Source field name → chosen display name."""
        return {c.source: c.display_name for c in self.schema.columns}

    def decisions(self) -> dict[str, Choice]:
        """The privacy decisions made, by the columns' chosen field names."""
        return {
            self.schema.field_for(column.field_name): choice
            for column in self.flagged
            if (choice := column.choice()) is not None
        }


@dataclass(frozen=True)
class Saved:
    """Where the browser goes next, and what to tell the publisher there."""

    dataset_id: str
    outcome: str  # private | internal | public | submitted | replaced | draft


def start_review(conn: sa.Connection, staged: StagedUpload, principal: Principal) -> Review:
    """The review as the first reading left it: the inferred schema, default metadata (or the
    replaced dataset's) and the findings, with the replaced dataset's kept decisions."""
    dataset = None
    decided: dict[str, Choice] = {}
    if staged.dataset_id is not None:
        dataset = writable_dataset(conn, staged.dataset_id, principal)
        metadata = metadata_of(dataset)
        kept = privacy_store.decisions(conn, dataset.id)
        decided = {d.field_name: Choice(d.action, d.reason) for d in kept}
    else:
        metadata = DatasetMetadata(
            title=_title_from(staged.file_name), department=principal.department
        )
    schema = SchemaChoice(
        tuple(
            ColumnChoice(c.field_name, c.field_name, c.display_name, c.soda_type, "", c.from_file)
            for c in staged.columns
        ),
        dataset.row_identifier if dataset else None,
    )
    flagged = flagged_columns(staged.findings, decided)
    return Review(
        staged, dataset, metadata, schema, tuple(flagged), not can_choose_department(principal)
    )


def _title_from(file_name: str) -> str:
    """'building_permits-2024.csv' → 'Building permits 2024': a start the publisher edits."""
    words = " ".join(Path(file_name).stem.replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:] if words else ""


def findings_for(
    settings: Settings, staged: StagedUpload, schema: SchemaChoice, category: str | None
) -> list[Finding]:
    """The privacy findings for the types and category the publisher chose: the first
    reading's, unless a type changed or the category makes exact places sensitive, when the
    file is scanned again. InvalidUpload names a cell that does not fit a chosen type."""
    inferred = {c.field_name: c.soda_type for c in staged.columns}
    overrides = schema.type_overrides(inferred)
    if not overrides and not is_sensitive_category(category):
        return list(staged.findings)
    return scan_parsed(read_staged(settings, staged, type_overrides=overrides), category=category)


def save(
    engine: sa.Engine,
    settings: Settings,
    principal: Principal,
    review: Review,
    choice: str,
) -> Saved:
    """Store the reviewed upload; the staged file is removed once it is stored.

    A new dataset is created private or internal, owned by `principal`, with the privacy
    decisions; "public" then asks for publication through drafts.edit_dataset, which publishes
    at once or keeps a draft that is submitted to the approvers. New data for an existing
    dataset goes through drafts.edit_dataset too (applied, or kept in its draft).
    """
    staged = review.staged
    inferred = {c.field_name: c.soda_type for c in staged.columns}
    overrides = review.schema.type_overrides(inferred)
    if review.dataset is not None:
        with claimed(settings, staged):
            table = read_staged(
                settings, staged, type_overrides=overrides, rename=review.schema.rename
            )
            outcome = drafts.edit_dataset(
                engine,
                settings,
                principal,
                review.dataset.id,
                table=table,
                privacy_decisions=review.decisions(),
            )
        with engine.begin() as conn:
            record_decisions(conn, principal, review.dataset.id, review.decisions())
        return Saved(review.dataset.id, "replaced" if outcome.applied else "draft")
    audience = "internal" if choice == "internal" else "private"
    with claimed(settings, staged):
        table = read_staged(settings, staged, type_overrides=overrides, rename=review.schema.rename)
        result = import_table(
            engine,
            table,
            metadata=dataclasses.replace(review.metadata, audience=audience),
            row_identifier=review.schema.row_identifier,
            owner_id=principal.user_id,
            privacy_decisions=review.decisions(),
            decided_by=principal.email,
        )
    _record_import(engine, principal, review, result)
    if choice != "public":
        return Saved(result.dataset_id, audience)
    public = dataclasses.replace(review.metadata, audience="public")
    try:
        edited = drafts.edit_dataset(
            engine, settings, principal, result.dataset_id, metadata=public
        )
    except PrivacyUnresolved:
        # The guard read more than the review did: the dataset stays private, and its manage
        # page lists what is unresolved.
        return Saved(result.dataset_id, "unpublished")
    if edited.applied:
        return Saved(result.dataset_id, "public")
    drafts.submit_draft(engine, principal, result.dataset_id)
    return Saved(result.dataset_id, "submitted")


def _record_import(
    engine: sa.Engine, principal: Principal, review: Review, result: ImportResult
) -> None:
    """The audit events of a browser import (it committed in its own transaction): the import,
    and each privacy decision given with it, as the command line records them."""
    with engine.begin() as conn:
        record_event(
            conn,
            actor=principal.email,
            action="dataset.import",
            dataset_id=result.dataset_id,
            detail={
                "mode": result.mode,
                "file": review.staged.file_name,
                "source": "browser",
                "rows_created": result.rows_created,
                "row_count": result.row_count,
            },
        )
        record_decisions(conn, principal, result.dataset_id, review.decisions())


def record_decisions(
    conn: sa.Connection, principal: Principal, dataset_id: str, decisions: dict[str, Choice]
) -> None:
    for column, choice in decisions.items():
        record_event(
            conn,
            actor=principal.email,
            action="privacy.decide",
            dataset_id=dataset_id,
            detail={"column": column, "decision": choice.action}
            | ({"reason": choice.reason} if choice.reason else {}),
        )
