"""What the review page saves: a staged upload as a new dataset, or as an existing dataset's new
data.

`Review` holds the page's state — the upload, the dataset it replaces (if any), the metadata,
the schema and the privacy decisions — and `queue_save` hands a complete review to the
background worker (jobs.queue.enqueue_import), so a large file does not hold the request: the
browser follows the run's page. The worker saves it as the publisher who asked, through
catalog.publishing.save_upload (column names, drafts and approvals, the request to publish, the
privacy guard, the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from civicport.auth.policy import can_choose_department, writable_dataset
from civicport.auth.principal import Principal
from civicport.catalog.publishing import ColumnName
from civicport.catalog.records import DatasetMetadata, DatasetRecord
from civicport.config import Settings
from civicport.jobs.queue import enqueue_import
from civicport.jobs.uploads import ImportJob
from civicport.privacy import store as privacy_store
from civicport.privacy.decisions import Choice
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
    staged_path,
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


def queue_save(
    engine: sa.Engine, settings: Settings, principal: Principal, review: Review, choice: str
) -> int:
    """Queue the reviewed upload for the worker, to be saved as `principal` the way `choice`
    says (catalog.publishing.save_upload), and return its run's id.

    The staged file is handed over to the run (renamed, so a second click on Save finds the
    upload gone); the worker deletes it when the run ends. InvalidUpload when the job cannot
    run, with the upload given back.
    """
    staged = review.staged
    inferred = {c.field_name: c.soda_type for c in staged.columns}
    with claimed(settings, staged):
        path = staged_path(settings, staged)
        handed = path.with_name(f"{staged.token}.queued{staged.suffix}")
        path.rename(handed)
        job = ImportJob(
            path=handed,
            mode="replace" if review.dataset else "create",
            dataset_id=review.dataset.id if review.dataset else None,
            metadata=None if review.dataset else review.metadata,
            row_identifier=None if review.dataset else review.schema.row_identifier,
            type_overrides=review.schema.type_overrides(inferred),
            privacy_decisions=review.decisions(),
            columns={
                c.source: ColumnName(c.field_name, c.display_name, c.description)
                for c in review.schema.columns
            },
            requester_id=principal.user_id,
            choice=choice,
            file_name=staged.file_name,
        )
        try:
            run_id = enqueue_import(engine, settings, job=job, requested_by=principal.email)
        except BaseException:
            handed.rename(path)
            raise
    return run_id
