"""Freshness: fresh, due or overdue from the promised update frequency and the last load; the
badge on the dataset page, the column on /manage and the staff-only catalog facet."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from civicport.auth.accounts import create_user
from civicport.auth.sessions import SESSION_COOKIE, session_token
from civicport.catalog.freshness import expected_interval, freshness
from civicport.catalog.store import get_dataset
from civicport.db.schema import datasets, sync_runs, users

DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("Daily", DAY),
        ("  weekly ", 7 * DAY),
        ("Mensual", 31 * DAY),
        ("bi-weekly", 14 * DAY),
        ("every 6 hours", dt.timedelta(hours=6)),
        ("Every 2 weeks", 14 * DAY),
        ("R/P1D", DAY),
        ("P1Y", 366 * DAY),
        ("R/PT1H", dt.timedelta(hours=1)),
        ("As needed", None),
        ("Sample (not updated)", None),
        ("", None),
        (None, None),
        ("every 0 days", None),
        ("P", None),
    ],
)
def test_expected_interval_reads_what_publishers_write(text, interval) -> None:
    assert expected_interval(text) == interval


def test_status_moves_from_fresh_to_due_to_overdue(make_dataset, engine) -> None:
    dataset_id = make_dataset(update_frequency="Daily")
    with engine.connect() as conn:
        record = get_dataset(conn, dataset_id)
    loaded = record.data_updated_at
    assert freshness(record, loaded + 23 * dt.timedelta(hours=1)).status == "fresh"
    assert freshness(record, loaded + 25 * dt.timedelta(hours=1)).status == "due"  # in grace
    assert freshness(record, loaded + 31 * dt.timedelta(hours=1)).status == "overdue"
    assert freshness(record, loaded).expected_at == loaded + DAY
    never = dataclasses.replace(record, update_frequency="As needed")
    assert freshness(never, loaded + 400 * DAY) is None


def _age(engine: sa.Engine, dataset_id: str, days: int) -> None:
    """Pretend the last load was `days` ago."""
    with engine.begin() as conn:
        conn.execute(
            datasets.update()
            .where(datasets.c.id == dataset_id)
            .values(data_updated_at=dt.datetime.now(dt.UTC) - days * DAY)
        )


def test_overdue_badge_on_the_page_and_staff_facet(client, app, make_dataset, engine) -> None:
    stale = make_dataset(title="Stale permits", update_frequency="Weekly", department="Health")
    current = make_dataset(title="Current permits", update_frequency="Weekly")
    make_dataset(title="Unscheduled permits", update_frequency="As needed")
    _age(engine, stale, 30)
    page = client.get(f"/d/{stale}").text
    assert "freshness-overdue" in page
    assert "Overdue: an update was expected by" in page
    assert "freshness-" not in client.get(f"/d/{current}").text  # fresh: no badge

    # Anonymous readers get no freshness facet, and the filter is ignored for them.
    anonymous = client.get("/browse", params={"freshness": "overdue"}).text
    assert "Freshness (staff)" not in anonymous
    assert "Current permits" in anonymous

    with engine.begin() as conn:
        admin = create_user(conn, email="admin@city.example", role="admin", password="x" * 12)
        hashed = conn.execute(sa.select(users.c.password_hash)).scalar_one()
    client.cookies.set(SESSION_COOKIE, session_token(app.state.signing_key, admin.user_id, hashed))
    facet = client.get("/browse").text
    assert "Freshness (staff)" in facet
    assert "freshness=overdue" in facet
    only_overdue = client.get("/browse", params={"freshness": "overdue"}).text
    assert "Stale permits" in only_overdue
    assert "Current permits" not in only_overdue
    assert "Unscheduled permits" not in only_overdue
    manage = client.get("/manage").text
    assert "freshness-overdue" in manage
    assert "No schedule" in manage


def test_a_failed_last_run_is_a_staff_facet_value_until_a_run_succeeds(
    client, app, make_dataset, engine
) -> None:
    failing = make_dataset(title="Failing permits", update_frequency="Weekly")
    healthy = make_dataset(title="Healthy permits", update_frequency="Weekly")
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        for dataset_id, statuses in (
            (failing, ("succeeded", "failed")),
            (healthy, ("failed", "succeeded")),
        ):
            for status in statuses:
                error = "boom" if status == "failed" else None
                conn.execute(sync_runs.insert().values(
                    dataset_id=dataset_id, trigger="schedule", status=status,
                    requested_by="schedule", queued_at=now, error=error,
                ))  # fmt: skip
        admin = create_user(conn, email="admin@city.example", role="admin", password="x" * 12)
        hashed = conn.execute(sa.select(users.c.password_hash)).scalar_one()
    client.cookies.set(SESSION_COOKIE, session_token(app.state.signing_key, admin.user_id, hashed))
    assert "freshness=sync_failed" in client.get("/browse").text
    failed_only = client.get("/browse", params={"freshness": "sync_failed"}).text
    assert "Last sync failed" in failed_only
    assert "Failing permits" in failed_only
    assert "Healthy permits" not in failed_only
