"""A queued upload: a file already saved under $CIVICPORT_HOME/files/uploads and what to do with
it, kept as JSON in its run's `job` column until the worker imports it.

A job with `requester_id` is a save from the browser's review page: the worker saves it as that
account through catalog.publishing.save_upload (column names, drafts, the request to publish);
one without is a plain catalog.service.import_file."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicport.catalog.publishing import CREATE_CHOICES, REPLACE, ColumnName
from civicport.catalog.records import DatasetMetadata, SavedChart
from civicport.catalog.service import MODES
from civicport.config import Settings
from civicport.errors import InvalidUpload
from civicport.privacy.decisions import Choice

UPLOADS_DIR = "uploads"


@dataclass(frozen=True)
class ImportJob:
    """What to import, and how: the arguments of catalog.service.import_file, as data, and for a
    browser save those of catalog.publishing.save_upload (`columns`: the file's field name →
    the chosen names; `requester_id`: the account it is saved as; `choice`: how)."""

    path: Path
    mode: str
    dataset_id: str | None = None
    metadata: DatasetMetadata | None = None  # the new dataset's (mode create)
    row_identifier: str | None = None
    type_overrides: Mapping[str, str] = field(default_factory=dict)
    sheet: str | None = None
    layer: str | None = None
    owner_id: int | None = None
    privacy_decisions: Mapping[str, Choice] = field(default_factory=dict)
    columns: Mapping[str, ColumnName] = field(default_factory=dict)
    requester_id: int | None = None
    choice: str = ""
    file_name: str = ""  # as the sender's computer called it, for the audit log

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "mode": self.mode,
            "dataset_id": self.dataset_id,
            "metadata": dataclasses.asdict(self.metadata) if self.metadata else None,
            "row_identifier": self.row_identifier,
            "type_overrides": dict(self.type_overrides),
            "sheet": self.sheet,
            "layer": self.layer,
            "owner_id": self.owner_id,
            "privacy_decisions": {
                column: dataclasses.asdict(choice)
                for column, choice in self.privacy_decisions.items()
            },
            "columns": {column: dataclasses.asdict(name) for column, name in self.columns.items()},
            "requester_id": self.requester_id,
            "choice": self.choice,
            "file_name": self.file_name,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImportJob:
        metadata = data.get("metadata")
        return cls(
            path=Path(data["path"]),
            mode=data["mode"],
            dataset_id=data.get("dataset_id"),
            metadata=_metadata(metadata) if metadata else None,
            row_identifier=data.get("row_identifier"),
            type_overrides=dict(data.get("type_overrides") or {}),
            sheet=data.get("sheet"),
            layer=data.get("layer"),
            owner_id=data.get("owner_id"),
            privacy_decisions={
                column: Choice(**choice)
                for column, choice in (data.get("privacy_decisions") or {}).items()
            },
            columns={
                column: ColumnName(**name) for column, name in (data.get("columns") or {}).items()
            },
            requester_id=data.get("requester_id"),
            choice=data.get("choice") or "",
            file_name=data.get("file_name") or "",
        )


def check_job(settings: Settings, job: ImportJob) -> None:
    """Refuse a job the worker could not run: InvalidUpload with the reason."""
    if job.mode not in MODES:
        raise InvalidUpload(f"Unknown mode '{job.mode}': use one of {', '.join(MODES)}.")
    if job.mode == "create" and job.metadata is None:
        raise InvalidUpload("A new dataset needs its title and description.")
    if job.mode != "create" and not job.dataset_id:
        raise InvalidUpload(f"Mode {job.mode} needs the dataset's id.")
    if job.requester_id is not None:
        allowed = (REPLACE,) if job.mode != "create" else CREATE_CHOICES
        if job.mode not in ("create", REPLACE) or job.choice not in allowed:
            raise InvalidUpload(
                f"A save from the review page creates or replaces a dataset: "
                f"'{job.choice}' for mode {job.mode} is neither."
            )
    if not in_uploads(settings, job.path):
        raise InvalidUpload(
            f"A queued import reads only files saved under {uploads_dir(settings)}."
        )
    if not job.path.is_file():
        raise InvalidUpload(f"The uploaded file {job.path.name} is gone: upload it again.")


def uploads_dir(settings: Settings) -> Path:
    """Where uploaded files wait for the worker."""
    return settings.files_dir / UPLOADS_DIR


def in_uploads(settings: Settings, path: Path) -> bool:
    """Whether `path` is under the uploads folder (the worker deletes files there, and only
    there, once their run ends)."""
    return path.resolve().is_relative_to(uploads_dir(settings).resolve())


def _metadata(data: Mapping[str, Any]) -> DatasetMetadata:
    values = dict(data)
    values["tags"] = tuple(values.get("tags") or ())
    values["charts"] = tuple(SavedChart(**chart) for chart in values.get("charts") or ())
    return DatasetMetadata(**values)
