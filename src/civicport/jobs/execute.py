"""Running one run: claim it, fetch its source (or take its uploaded file), load it, and record
how it ended.

The load is one database transaction (catalog.service), so a run that fails or is killed half
way leaves the dataset's current version as it was. Whatever a run fetched goes to a scratch
folder of its own, $CIVICPORT_HOME/runs/<id>/, removed when the run ends (and by the recovery
when the worker was killed before it could).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from civicport.auth.accounts import user_by_id
from civicport.auth.audit import record_event
from civicport.auth.principal import Principal
from civicport.catalog.publishing import rename_columns, save_upload
from civicport.catalog.service import ImportResult, import_file
from civicport.catalog.sources import get_source
from civicport.config import Settings
from civicport.db.writer import write_turn
from civicport.errors import CivicportError, NotFound
from civicport.ingest.reader import read_file
from civicport.ingest.records import ReadOptions
from civicport.ingest.sources import fetch_source
from civicport.jobs.progress import ProgressReporter
from civicport.jobs.runs import RunRecord, claim_run, fail_run, get_run, succeed_run
from civicport.jobs.uploads import ImportJob, check_job, in_uploads

SYNC_ACTOR = "sync"
RUNS_DIR = "runs"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    """What a run's load did: the import (None when nothing went live: kept in a draft) and,
    for a save from the review page, its outcome (catalog.publishing.OUTCOMES)."""

    dataset_id: str
    result: ImportResult | None
    outcome: str | None = None

    @classmethod
    def imported(cls, result: ImportResult) -> Loaded:
        return cls(result.dataset_id, result)


def execute_run(
    engine: sa.Engine,
    settings: Settings,
    run_id: int,
    *,
    worker: str,
    progress: ProgressReporter,
) -> RunRecord | None:
    """Run a queued run to its end and return it as ended; None when it was not queued (another
    worker claimed it, or it ended already), in which case nothing is done.

    Any error ends the run as failed with a message (see `failure_message`); only what is not
    an Exception (the process being stopped) leaves it running, for the recovery to find.
    """
    with write_turn(settings.resolved_database_url), engine.begin() as conn:
        if not claim_run(conn, run_id, worker=worker, now=_now()):
            logger.info("Run %s skipped: it is not queued (another worker has it)", run_id)
            return None
        run = get_run(conn, run_id)
    logger.info("Run %s started: %s", run.id, describe_run(run))
    try:
        loaded = _load(engine, settings, run, progress)
    except Exception as error:
        message = failure_message(error)
        with write_turn(settings.resolved_database_url), engine.begin() as conn:
            fail_run(conn, run.id, error=message, now=_now())
    else:
        with write_turn(settings.resolved_database_url), engine.begin() as conn:
            _record_success(conn, run, loaded)
    finally:
        clean_up(settings, run)
        progress.clear()
    with engine.connect() as conn:
        ended = get_run(conn, run.id)
    logger.info("Run %s %s: %s", ended.id, ended.status, ended.error or describe_counts(ended))
    return ended


def failure_message(error: BaseException) -> str:
    """What a failed run says: the portal's own messages as they are (they are written for
    people), anything else as an internal error, logged with its traceback."""
    if isinstance(error, CivicportError):
        return error.message
    logger.error("Run failed with an unexpected error", exc_info=error)
    return f"internal error: {type(error).__name__}: {error}"


def describe_run(run: RunRecord) -> str:
    """ "scheduled sync of abcd-1234 (attempt 2)", for logs."""
    what = {
        "schedule": "scheduled sync",
        "manual": "sync",
        "retry": "retried sync",
        "upload": "queued import",
    }[run.trigger]
    attempt = f" (attempt {run.attempt})" if run.attempt > 1 else ""
    return f"{what} of {run.dataset_id or 'a new dataset'}{attempt}"


def describe_counts(run: RunRecord) -> str:
    if run.version is None and run.outcome == "draft":
        return "kept in the dataset's draft, waiting for approval"
    return (
        f"{run.rows_added or 0:,} rows added, {run.rows_changed or 0:,} changed, "
        f"{run.rows_removed or 0:,} removed; version {run.version}"
    )


def scratch_dir(settings: Settings, run_id: int) -> Path:
    """Where a run keeps what it fetched."""
    return settings.home / RUNS_DIR / str(run_id)


def clean_up(settings: Settings, run: RunRecord) -> None:
    """Remove what a run left on disk: its scratch folder, and its uploaded file."""
    shutil.rmtree(scratch_dir(settings, run.id), ignore_errors=True)
    upload = run.job.get("path")
    if run.trigger == "upload" and upload and in_uploads(settings, Path(upload)):
        Path(upload).unlink(missing_ok=True)


def _load(
    engine: sa.Engine, settings: Settings, run: RunRecord, progress: ProgressReporter
) -> Loaded:
    if run.trigger != "upload":
        return Loaded.imported(_load_source(engine, settings, run, progress))
    job = ImportJob.from_json(run.job)
    check_job(settings, job)
    if job.requester_id is not None:
        return _save_upload(engine, settings, run, job, progress)
    return Loaded.imported(_load_upload(engine, settings, run, job, progress))


def _load_source(
    engine: sa.Engine, settings: Settings, run: RunRecord, progress: ProgressReporter
) -> ImportResult:
    assert run.dataset_id is not None  # a sync is always of a dataset
    with engine.connect() as conn:
        source = get_source(conn, run.dataset_id)
    if source is None:
        raise NotFound(f"Dataset '{run.dataset_id}' has no source any more")
    into = scratch_dir(settings, run.id)
    into.mkdir(parents=True, exist_ok=True)
    progress.phase("fetching")
    path = fetch_source(
        source.spec,
        into,
        max_bytes=settings.max_upload_bytes,
        timeout=settings.source_timeout_seconds,
        progress=progress.bytes,
        allowed_dirs=settings.source_dirs,
        private_networks=settings.source_private_networks,
    )
    options = ReadOptions(
        sheet=source.spec.options.get("sheet"),
        layer=source.spec.options.get("layer"),
        max_unpacked_bytes=settings.max_upload_bytes,
    )
    progress.phase("waiting")
    with write_turn(settings.resolved_database_url):
        progress.phase("loading")
        return import_file(
            engine,
            path,
            metadata=None,
            dataset_id=run.dataset_id,
            mode=source.mode,
            progress=progress.rows,
            read_options=options,
            made_by=SYNC_ACTOR,
        )


def _load_upload(
    engine: sa.Engine,
    settings: Settings,
    run: RunRecord,
    job: ImportJob,
    progress: ProgressReporter,
) -> ImportResult:
    options = _read_options(settings, job)
    progress.phase("waiting")
    with write_turn(settings.resolved_database_url):
        progress.phase("loading")
        return import_file(
            engine,
            job.path,
            metadata=job.metadata if job.mode == "create" else None,
            dataset_id=job.dataset_id,
            mode=job.mode,
            row_identifier=job.row_identifier,
            type_overrides=job.type_overrides or None,
            progress=progress.rows,
            owner_id=job.owner_id,
            privacy_decisions=job.privacy_decisions or None,
            decided_by=run.requested_by,
            read_options=options,
            made_by=run.requested_by,
        )


def _save_upload(
    engine: sa.Engine,
    settings: Settings,
    run: RunRecord,
    job: ImportJob,
    progress: ProgressReporter,
) -> Loaded:
    """A save from the review page, made as the account that asked for it (so approvals and
    its rights apply as when it was asked for)."""
    principal = _requester(engine, job)
    progress.phase("waiting")
    with write_turn(settings.resolved_database_url):
        progress.phase("loading")
        table = read_file(
            job.path,
            type_overrides=dict(job.type_overrides) or None,
            options=_read_options(settings, job),
        )
        table.columns = rename_columns(table.columns, job.columns)
        saved = save_upload(
            engine,
            settings,
            principal,
            table,
            dataset_id=job.dataset_id,
            metadata=job.metadata,
            choice=job.choice,
            row_identifier=job.row_identifier,
            privacy_decisions=job.privacy_decisions,
            file_name=job.file_name or job.path.name,
            made_by=principal.email,
            run_id=run.id,
            progress=progress.rows,
        )
    return Loaded(saved.dataset_id, saved.result, saved.outcome)


def _requester(engine: sa.Engine, job: ImportJob) -> Principal:
    assert job.requester_id is not None
    with engine.connect() as conn:
        principal = user_by_id(conn, job.requester_id)
    if principal is None:
        raise NotFound("The account that saved this upload no longer exists: nothing was saved")
    return principal


def _read_options(settings: Settings, job: ImportJob) -> ReadOptions:
    return ReadOptions(
        sheet=job.sheet, layer=job.layer, max_unpacked_bytes=settings.max_upload_bytes
    )


def _record_success(conn: sa.Connection, run: RunRecord, loaded: Loaded) -> None:
    result = loaded.result
    succeed_run(
        conn,
        run.id,
        dataset_id=loaded.dataset_id,
        rows_added=result.rows_created if result else None,
        rows_changed=result.rows_updated if result else None,
        rows_removed=result.rows_deleted if result else None,
        version=result.version if result else None,
        warnings=result.warnings if result else (),
        now=_now(),
        outcome=loaded.outcome,
    )
    if loaded.outcome is not None or result is None:
        return  # a save from the review page recorded its own audit events
    actor = SYNC_ACTOR if run.trigger != "upload" else run.requested_by
    record_event(
        conn,
        actor=actor,
        action="dataset.import",
        dataset_id=result.dataset_id,
        detail={
            "mode": result.mode,
            "run_id": run.id,
            "trigger": run.trigger,
            "rows_created": result.rows_created,
            "rows_updated": result.rows_updated,
            "rows_deleted": result.rows_deleted,
            "row_count": result.row_count,
        },
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
