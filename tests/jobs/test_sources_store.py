"""A dataset's source: stored only when everything about it can work, header values kept out of
every description, due sources claimed by exactly one worker."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from jobdata import MakeCsvDataset, csv_rows

from civicport.catalog.sources import (
    claim_due_sources,
    get_source,
    list_sources,
    remove_source,
    set_source,
)
from civicport.config import Settings
from civicport.db.writer import write_turn
from civicport.errors import InvalidUpload, NotFound
from civicport.ingest.sources import SourceSpec

NOW = dt.datetime(2026, 3, 7, 12, 0, tzinfo=dt.UTC)
SECRET = "s3cret-api-key-value"


@pytest.fixture
def dataset_id(csv_dataset: MakeCsvDataset) -> str:
    return csv_dataset(csv_rows(3))


def api_source(url: str = "https://data.city.example/requests.csv") -> SourceSpec:
    return SourceSpec("url", url, headers={"X-Api-Key": SECRET})


def test_a_source_is_stored_with_its_schedule_and_shown_without_secrets(
    engine: sa.Engine, dataset_id: str
) -> None:
    with engine.begin() as conn:
        stored = set_source(
            conn,
            dataset_id,
            api_source(),
            schedule="every 6 hours",
            webhook_url="https://hooks.city.example/data",
            max_attempts=4,
            now=NOW,
        )
    with engine.connect() as conn:
        found = get_source(conn, dataset_id)

    assert found == stored
    assert found.spec.headers == {"X-Api-Key": SECRET}  # the fetch needs it...
    assert found.header_names == ("X-Api-Key",)  # ...people see its name only
    assert SECRET not in found.description
    assert "data.city.example/requests.csv" in found.description
    assert (found.schedule, found.mode, found.max_attempts) == ("every 6 hours", "replace", 4)
    assert found.next_run_at == NOW + dt.timedelta(hours=6)
    assert found.webhook_url == "https://hooks.city.example/data"


def test_setting_again_replaces_and_remove_forgets(engine: sa.Engine, dataset_id: str) -> None:
    later = NOW + dt.timedelta(days=1)
    with engine.begin() as conn:
        set_source(conn, dataset_id, api_source(), schedule="daily", now=NOW)
        replaced = set_source(
            conn, dataset_id, SourceSpec("file", "/srv/share/requests.csv"), now=later
        )

    assert (replaced.spec.kind, replaced.schedule, replaced.next_run_at) == ("file", None, None)
    assert (replaced.created_at, replaced.updated_at) == (NOW, later)
    with engine.begin() as conn:
        assert [s.dataset_id for s in list_sources(conn)] == [dataset_id]
        remove_source(conn, dataset_id)
        assert get_source(conn, dataset_id) is None
        with pytest.raises(NotFound, match="has no source"):
            remove_source(conn, dataset_id)


def test_a_disabled_source_has_no_next_run(engine: sa.Engine, dataset_id: str) -> None:
    with engine.begin() as conn:
        stored = set_source(
            conn, dataset_id, api_source(), schedule="hourly", enabled=False, now=NOW
        )

    assert not stored.enabled
    assert stored.next_run_at is None


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        (SourceSpec("url", "ftp://city.example/x.csv"), {}, "must start with http:// or https://"),
        (SourceSpec("url", "not a url"), {}, "http"),
        (SourceSpec("file", "relative/requests.csv"), {}, "must be absolute"),
        (SourceSpec("carrier-pigeon", "coop 3"), {}, "Unknown kind of source"),
        (api_source(), {"schedule": "every blue moon"}, "'every blue moon' is not a schedule"),
        (api_source(), {"schedule": "0 25 * * *"}, "not a valid cron expression"),
        (api_source(), {"mode": "merge"}, "Unknown mode 'merge'"),
        (api_source(), {"mode": "upsert"}, "Upsert needs the dataset's row identifier"),
        (api_source(), {"webhook_url": "ftp://hooks.example"}, "webhook address must start"),
        (api_source(), {"max_attempts": 0}, "Attempts must be between 1 and 10, not 0"),
        (api_source(), {"max_attempts": 11}, "Attempts must be between 1 and 10, not 11"),
    ],
)
def test_what_cannot_work_is_refused_and_nothing_is_stored(
    engine: sa.Engine, dataset_id: str, spec: SourceSpec, options: dict[str, object], message: str
) -> None:
    with engine.begin() as conn, pytest.raises(InvalidUpload) as raised:
        set_source(conn, dataset_id, spec, now=NOW, **options)  # type: ignore[arg-type]

    assert message in raised.value.message
    assert SECRET not in raised.value.message
    with engine.connect() as conn:
        assert get_source(conn, dataset_id) is None


def test_a_file_outside_the_allowed_folders_is_refused(
    engine: sa.Engine, dataset_id: str, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    inside = SourceSpec("file", str(share / "a.csv"))
    with engine.begin() as conn:
        stored = set_source(conn, dataset_id, inside, now=NOW, allowed_dirs=[share])
    for spec, allowed in ((SourceSpec("file", "/etc/passwd"), [share]), (inside, [])):
        with engine.begin() as conn, pytest.raises(InvalidUpload, match="outside the folders"):
            set_source(conn, dataset_id, spec, now=NOW, allowed_dirs=allowed)

    with engine.connect() as conn:
        assert get_source(conn, dataset_id) == stored  # the refused ones changed nothing


def test_an_unknown_dataset_is_not_found(engine: sa.Engine) -> None:
    with engine.begin() as conn, pytest.raises(NotFound, match="'zzzz-9999' not found"):
        set_source(conn, "zzzz-9999", api_source(), now=NOW)


def test_upsert_is_accepted_when_the_dataset_has_a_row_identifier(
    engine: sa.Engine, csv_dataset: MakeCsvDataset
) -> None:
    keyed = csv_dataset(csv_rows(3), row_identifier="case_id")
    with engine.begin() as conn:
        assert set_source(conn, keyed, api_source(), mode="upsert", now=NOW).mode == "upsert"


def test_a_due_source_is_claimed_once_and_moves_to_its_next_time(
    engine: sa.Engine, dataset_id: str
) -> None:
    with engine.begin() as conn:
        set_source(conn, dataset_id, api_source(), schedule="every 10 minutes", now=NOW)
    too_early = NOW + dt.timedelta(minutes=9)
    due = NOW + dt.timedelta(minutes=35)  # three times missed: runs once

    with engine.begin() as conn:
        assert claim_due_sources(conn, now=too_early) == []
        claimed = claim_due_sources(conn, now=due)
        again = claim_due_sources(conn, now=due)

    assert [s.dataset_id for s in claimed] == [dataset_id]
    assert claimed[0].next_run_at == due + dt.timedelta(minutes=10)
    assert again == []
    with engine.connect() as conn:
        assert get_source(conn, dataset_id).next_run_at == due + dt.timedelta(minutes=10)


def test_two_workers_claiming_at_once_get_each_source_once(
    engine: sa.Engine, settings: Settings, csv_dataset: MakeCsvDataset
) -> None:
    ids = [csv_dataset(csv_rows(2), title=f"Dataset {n}") for n in range(6)]
    with engine.begin() as conn:
        for dataset_id in ids:
            set_source(conn, dataset_id, api_source(), schedule="hourly", now=NOW)
    due = NOW + dt.timedelta(hours=2)
    start = threading.Barrier(2)
    claims: list[list[str]] = []

    def claim() -> None:
        start.wait()
        # As the worker's tick does: the write turn (SQLite), then the compare-and-set.
        with write_turn(settings.resolved_database_url), engine.begin() as conn:
            claims.append([s.dataset_id for s in claim_due_sources(conn, now=due)])

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claims[0] + claims[1]) == sorted(ids)


def test_a_file_source_path_is_kept_as_given(
    engine: sa.Engine, dataset_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "share" / "requests.csv"
    with engine.begin() as conn:
        stored = set_source(conn, dataset_id, SourceSpec("file", str(path)), now=NOW)

    assert stored.spec.location == str(path)
    assert str(path) in stored.description
