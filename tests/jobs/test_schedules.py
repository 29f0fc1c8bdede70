"""Schedules: cron expressions in the city's time zone, plain intervals, and plain refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from civicport.errors import InvalidUpload
from civicport.jobs.schedules import parse_schedule

NOON = dt.datetime(2026, 3, 7, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "after_noon"),
    [
        ("every 6 hours", dt.timedelta(hours=6)),
        ("Every 15   minutes", dt.timedelta(minutes=15)),
        ("every 1 day", dt.timedelta(days=1)),
        ("every 2 days", dt.timedelta(days=2)),
        ("every hour", dt.timedelta(hours=1)),
        ("hourly", dt.timedelta(hours=1)),
        ("daily", dt.timedelta(days=1)),
        ("weekly", dt.timedelta(days=7)),
    ],
)
def test_intervals_count_from_the_time_given(text: str, after_noon: dt.timedelta) -> None:
    assert parse_schedule(text).next_run(NOON) == NOON + after_noon


def test_a_cron_expression_runs_at_its_next_matching_minute() -> None:
    schedule = parse_schedule("30 6 * * 1-5")  # weekdays at 6:30 UTC; NOON is a Saturday

    assert schedule.next_run(NOON) == dt.datetime(2026, 3, 9, 6, 30, tzinfo=dt.UTC)
    assert schedule.next_run(dt.datetime(2026, 3, 9, 6, 30, tzinfo=dt.UTC)) == dt.datetime(
        2026, 3, 10, 6, 30, tzinfo=dt.UTC
    )
    assert parse_schedule("@daily").next_run(NOON) == dt.datetime(2026, 3, 8, tzinfo=dt.UTC)


def test_cron_follows_the_city_clock_across_daylight_saving() -> None:
    schedule = parse_schedule("0 6 * * *", time_zone="America/New_York")

    before = schedule.next_run(NOON)  # daylight saving time starts at 2:00 on the 8th
    after = schedule.next_run(before)

    assert before == dt.datetime(2026, 3, 8, 10, 0, tzinfo=dt.UTC)  # 6:00 EDT (UTC-4)
    assert after == dt.datetime(2026, 3, 9, 10, 0, tzinfo=dt.UTC)
    assert parse_schedule("0 6 * * *").next_run(NOON).hour == 6  # UTC by default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "every blue moon",
            "'every blue moon' is not a schedule: use a cron expression like '0 6 * * *' "
            "or 'every 6 hours'",
        ),
        ("0 25 * * *", "'0 25 * * *' is not a valid cron expression"),
        ("* * * *", "'* * * *' is not a schedule"),
        ("every 0 hours", "the interval must be at least 1"),
        ("every 3 fortnights", "is not a schedule"),
        ("", "is not a schedule"),
    ],
)
def test_anything_else_is_refused_in_plain_words(text: str, message: str) -> None:
    with pytest.raises(InvalidUpload) as raised:
        parse_schedule(text)

    assert message in raised.value.message


def test_an_unknown_time_zone_is_named() -> None:
    with pytest.raises(InvalidUpload, match="'Mars/Olympus' is not a time zone"):
        parse_schedule("0 6 * * *", time_zone="Mars/Olympus")
