"""`civicport sync`: set a source (secrets never printed), list, run in the foreground, queue,
read the history, remove; bad input exits 1 or 2 with a clear message and stores nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import Result

from civicport.catalog.sources import get_source
from civicport.jobs.runs import list_runs

SECRET = "k-5ecr3t-value"
Cli = Callable[..., Result]


def write_requests(path: Path, count: int, status: str = "open") -> Path:
    lines = ["case_id,status,amount"] + [f"C{i},{status},{i}" for i in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def cli_env(cli_env: dict[str, str | None], tmp_path: Path) -> dict[str, str | None]:
    """The command line's environment, with file sources allowed in the test's folder."""
    return {**cli_env, "CIVICPORT_SOURCE_DIRS": str(tmp_path)}


@pytest.fixture
def dataset_id(cli: Cli, tmp_path: Path) -> str:
    first = write_requests(tmp_path / "first.csv", 3)
    result = cli("import", first, "--title", "Requests", "--row-id", "case_id")
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def output(result: Result) -> str:
    return result.stdout + result.stderr


def listed_json(cli: Cli, *args: str) -> Any:
    result = cli("sync", *args, "--format", "json")
    assert result.exit_code == 0, output(result)
    return json.loads(result.stdout)


def test_set_then_list_shows_the_source_without_its_secrets(cli: Cli, dataset_id: str) -> None:
    set_result = cli(
        "sync", "set", dataset_id,
        "--url", "https://data.city.example/requests.csv?api_key=" + SECRET,
        "--header", f"X-Api-Key: {SECRET}", "--schedule", "0 6 * * *", "--attempts", "2",
        "--webhook", "https://hooks.city.example/T0KEN",
    )  # fmt: skip
    table = cli("sync", "list")
    (listed,) = listed_json(cli, "list")

    assert set_result.exit_code == 0, output(set_result)
    assert table.exit_code == 0, output(table)
    for shown in (output(set_result), output(table), json.dumps(listed)):
        assert SECRET not in shown
        assert "T0KEN" not in shown
    assert "X-Api-Key" in set_result.stdout
    assert dataset_id in table.stdout
    assert listed["dataset_id"] == dataset_id
    assert listed["headers"] == ["X-Api-Key"]
    assert "data.city.example/requests.csv" in listed["source"]
    assert (listed["schedule"], listed["mode"], listed["max_attempts"]) == (
        "0 6 * * *",
        "replace",
        2,
    )
    assert listed["next_run_at"].endswith("06:00:00+00:00")
    assert (listed["webhook_host"], listed["last_run"]) == ("hooks.city.example", None)


def test_run_syncs_in_the_foreground_and_history_tells_how_it_went(
    cli: Cli, dataset_id: str, tmp_path: Path, engine: sa.Engine
) -> None:
    share = write_requests(tmp_path / "share.csv", 5, status="closed")
    assert cli("sync", "set", dataset_id, "--file", share).exit_code == 0

    ran = cli("sync", "run", dataset_id)
    table = cli("sync", "history", dataset_id)
    (run,) = listed_json(cli, "history", dataset_id)

    assert ran.exit_code == 0, output(ran)
    assert ran.stdout.strip() == str(run["id"])
    assert "succeeded" in ran.stderr
    assert (run["status"], run["trigger"], run["requested_by"]) == ("succeeded", "manual", "cli")
    assert (run["rows_added"], run["rows_changed"], run["rows_removed"]) == (2, 3, 0)
    assert run["duration_seconds"] >= 0
    assert run["error"] is None
    assert table.exit_code == 0, output(table)
    assert "succeeded" in table.stdout
    assert "+2 ~3 −0" in table.stdout
    assert listed_json(cli, "list")[0]["last_run"]["id"] == run["id"]


def test_a_failing_run_exits_1_with_its_reason_and_is_in_the_history(
    cli: Cli, dataset_id: str, tmp_path: Path, engine: sa.Engine
) -> None:
    missing = tmp_path / "not-there.csv"
    assert cli("sync", "set", dataset_id, "--file", missing).exit_code == 0

    ran = cli("sync", "run", dataset_id)
    table = cli("sync", "history", dataset_id, "--limit", "5")

    assert ran.exit_code == 1
    assert "not-there.csv" in ran.stderr
    with engine.connect() as conn:
        (run,) = list_runs(conn, dataset_id)  # a foreground run is not retried
    assert run.status == "failed"
    assert "not-there.csv" in run.error
    assert "failed" in table.stdout
    assert f"Run {run.id}: " in table.stdout  # the error, whole, below the table


def test_run_queue_leaves_it_to_the_worker(cli: Cli, dataset_id: str, tmp_path: Path) -> None:
    share = write_requests(tmp_path / "share.csv", 5)
    cli("sync", "set", dataset_id, "--file", share)

    queued = cli("sync", "run", dataset_id, "--queue")
    again = cli("sync", "run", dataset_id)

    assert queued.exit_code == 0, output(queued)
    assert queued.stdout.strip().isdigit()
    assert [r["status"] for r in listed_json(cli, "history", dataset_id)] == ["queued"]
    assert again.exit_code == 1
    assert "already queued" in again.stderr


def test_remove_forgets_the_source_and_keeps_the_history(
    cli: Cli, dataset_id: str, tmp_path: Path, engine: sa.Engine
) -> None:
    cli("sync", "set", dataset_id, "--file", write_requests(tmp_path / "s.csv", 2))
    cli("sync", "run", dataset_id)

    removed = cli("sync", "remove", dataset_id)
    again = cli("sync", "remove", dataset_id)

    assert removed.exit_code == 0, output(removed)
    with engine.connect() as conn:
        assert get_source(conn, dataset_id) is None
    assert "No dataset has a source" in cli("sync", "list").stderr
    assert [r["status"] for r in listed_json(cli, "history", dataset_id)] == ["succeeded"]
    assert again.exit_code == 1
    assert "has no source" in again.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ("--url", "https://x.example/a.csv", "--schedule", "every blue moon"),
            1,
            "'every blue moon' is not a schedule: use a cron expression like '0 6 * * *'",
        ),
        (("--url", "ftp://x.example/a.csv"), 1, "must start with http:// or https://"),
        (("--url", "https://x.example/a.csv", "--attempts", "0"), 1, "between 1 and 10"),
        (("--url", "https://x.example/a.csv", "--webhook", "hooks"), 1, "webhook address"),
        ((), 2, "give exactly one of --url"),
        (("--url", "https://x.example/a.csv", "--file", "/tmp/a.csv"), 2, "exactly one"),
        (("--sql", "sqlite:////tmp/x.db"), 2, "--query"),
        (("--url", "https://x.example/a.csv", "--header", "no colon"), 2, "'Name: value'"),
        (("--url", "https://x.example/a.csv", "--mode", "merge"), 2, "merge"),
        (("--file", "/etc/passwd"), 1, "outside the folders sources may read from"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    cli: Cli, dataset_id: str, engine: sa.Engine, args: tuple[str, ...], code: int, message: str
) -> None:
    result = cli("sync", "set", dataset_id, *args)

    assert result.exit_code == code, output(result)
    assert message in " ".join(output(result).split())
    with engine.connect() as conn:
        assert get_source(conn, dataset_id) is None


@pytest.mark.parametrize(
    "args",
    [
        ("set", "zzzz-9999", "--url", "https://x.example/a.csv"),
        ("run", "zzzz-9999"),
        ("history", "zzzz-9999"),
        ("remove", "zzzz-9999"),
    ],
)
def test_an_unknown_dataset_exits_1(cli: Cli, engine: sa.Engine, args: tuple[str, ...]) -> None:
    result = cli("sync", *args)

    assert result.exit_code == 1
    assert "zzzz-9999" in result.stderr


def test_upsert_needs_a_row_identifier(cli: Cli, tmp_path: Path, engine: sa.Engine) -> None:
    made = cli("import", write_requests(tmp_path / "plain.csv", 2), "--title", "No identifier")
    dataset_id = made.stdout.strip()

    result = cli("sync", "set", dataset_id, "--url", "https://x.example/a.csv", "--mode", "upsert")

    assert result.exit_code == 1
    assert "Upsert needs the dataset's row identifier" in result.stderr
    with engine.connect() as conn:
        assert get_source(conn, dataset_id) is None


def test_run_without_a_source_says_so(cli: Cli, dataset_id: str) -> None:
    result = cli("sync", "run", dataset_id)

    assert result.exit_code == 1
    assert "has no source" in result.stderr


def test_sheet_and_layer_are_kept_as_reader_options(
    cli: Cli, dataset_id: str, engine: sa.Engine
) -> None:
    result = cli(
        "sync", "set", dataset_id, "--url", "https://data.city.example/permits.xlsx",
        "--sheet", "2024 permits",
    )  # fmt: skip
    assert result.exit_code == 0, output(result)
    with engine.connect() as conn:
        source = get_source(conn, dataset_id)
    assert source is not None
    assert dict(source.spec.options) == {"sheet": "2024 permits"}
