"""Cleaning up after a worker that was killed: the first thing a worker does when it starts.

A run is "running" with the "host:pid" of its worker. A worker killed mid-run (SIGKILL, a power
cut) leaves it so; its load was one transaction, so the database rolled it back, but the run row
and its scratch files stay. At start, a worker fails every running run whose worker was on this
host and is gone, and removes what it left. Runs of workers on other hosts are left alone: only
their own host can tell whether they still run.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path

import sqlalchemy as sa

from civicport.config import Settings
from civicport.db.writer import write_turn
from civicport.jobs.execute import clean_up
from civicport.jobs.runs import RunRecord, fail_run, get_run, runs_with_status

INTERRUPTED = "interrupted: the worker stopped during the run"
# /proc reports a process's start in clock ticks; a run is claimed well after its worker
# started, so a process that started later than the claim (plus this slack) is another one.
START_SLACK = dt.timedelta(seconds=1)


def fail_interrupted_runs(engine: sa.Engine, settings: Settings) -> list[RunRecord]:
    """Fail the runs left running by this host's dead workers, remove their scratch folders
    and uploaded files, and return them as failed."""
    now = dt.datetime.now(dt.UTC)
    with write_turn(settings.resolved_database_url), engine.begin() as conn:
        orphans = [run for run in runs_with_status(conn, "running") if _orphaned(run)]
        for run in orphans:
            fail_run(conn, run.id, error=INTERRUPTED, now=now)
        failed = [get_run(conn, run.id) for run in orphans]
    for run in failed:
        clean_up(settings, run)
    return failed


def _orphaned(run: RunRecord) -> bool:
    host, _, pid_text = (run.worker or "").rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    # This process is only starting, so a run in its name is a previous life's: in a container
    # the restarted worker often gets the same pid.
    return pid == os.getpid() or not _alive_since(pid, run.started_at)


def _alive_since(pid: int, since: dt.datetime | None) -> bool:
    """Whether process `pid` exists and is the one that was running at `since`."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    state, started = _proc_stat(pid)
    if state == "Z":  # killed, not yet reaped by its parent
        return False
    return since is None or started is None or started <= since + START_SLACK


def _proc_stat(pid: int) -> tuple[str | None, dt.datetime | None]:
    """The process's state letter and start time from Linux's /proc (None, None elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
    except (OSError, StopIteration):
        return None, None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    fields = stat.rpartition(")")[2].split()
    ticks = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    started = dt.datetime.fromtimestamp(int(boot.split()[1]) + ticks, dt.UTC)
    return fields[0], started
