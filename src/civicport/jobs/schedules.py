"""Sync schedules: a cron expression, or a plain interval ("every 6 hours", "daily").

Cron expressions are read in the portal's time zone (the `time_zone` setting), so "0 6 * * *"
means six in the morning at city hall, daylight saving time included. Intervals count from the
moment they are computed from: the last time the schedule came due, or when it was set.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter  # type: ignore[import-untyped]

from civicport.errors import InvalidUpload

_UNITS = {
    "minute": dt.timedelta(minutes=1),
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
}
_NAMED = {
    "hourly": dt.timedelta(hours=1),
    "daily": dt.timedelta(days=1),
    "weekly": dt.timedelta(days=7),
}
_EVERY = re.compile(r"^every\s+(?:(\d+)\s+)?(minute|hour|day)s?$")
EXAMPLES = "use a cron expression like '0 6 * * *' or 'every 6 hours'"


@dataclass(frozen=True)
class Schedule:
    """When a source is due. Exactly one of `cron` and `interval` is set."""

    text: str
    cron: str | None = None
    interval: dt.timedelta | None = None
    zone: dt.tzinfo = dt.UTC

    def next_run(self, after: dt.datetime) -> dt.datetime:
        """The first time strictly after `after` (aware) that the schedule comes due, in UTC.

        >>> parse_schedule("every 2 hours").next_run(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        datetime.datetime(2026, 1, 1, 2, 0, tzinfo=datetime.timezone.utc)
        """
        if self.interval is not None:
            return (after + self.interval).astimezone(dt.UTC)
        local: dt.datetime = croniter(self.cron, after.astimezone(self.zone)).get_next(dt.datetime)
        return local.astimezone(dt.UTC)


def parse_schedule(text: str, *, time_zone: str = "UTC") -> Schedule:
    """A Schedule from what a person typed; InvalidUpload with a plain message otherwise.

    >>> parse_schedule("every 15 minutes").interval
    datetime.timedelta(seconds=900)
    """
    normal = " ".join(text.split())
    lowered = normal.lower()
    if lowered in _NAMED:
        return Schedule(normal, interval=_NAMED[lowered])
    every = _EVERY.match(lowered)
    if every:
        count = int(every.group(1) or 1)
        if count < 1:
            raise InvalidUpload(f"'{normal}' is not a schedule: the interval must be at least 1.")
        return Schedule(normal, interval=count * _UNITS[every.group(2)])
    if _looks_like_cron(normal):
        if not croniter.is_valid(normal):
            raise InvalidUpload(
                f"'{normal}' is not a valid cron expression (minute hour day-of-month month "
                f"day-of-week, each in range): {EXAMPLES}."
            )
        return Schedule(normal, cron=normal, zone=zone_named(time_zone))
    raise InvalidUpload(f"'{normal}' is not a schedule: {EXAMPLES}.")


def zone_named(name: str) -> dt.tzinfo:
    """The IANA time zone `name` ("America/New_York"); InvalidUpload if there is none."""
    if name.upper() == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidUpload(
            f"'{name}' is not a time zone: use a name like America/New_York."
        ) from error


def _looks_like_cron(text: str) -> bool:
    # Five fields (croniter would also take a sixth, seconds, which a sync never needs), or
    # one of cron's @-names such as @daily.
    return len(text.split()) == 5 or (text.startswith("@") and " " not in text)
