"""The scheduler's jobs: module-level functions of plain arguments (a database URL, a config path).

APScheduler stores jobs by the import path of their function and pickled arguments, so jobs
take strings, never objects; each call opens (or reuses) the engine and reads the district.

A job may be given a simulated clock (`clock`, made by `sim_clock`): the time it sweeps at then
starts at a chosen moment and runs `speed` times faster than the wall clock. It is for drills and
soak tests (`tuoyou scheduler run --clock-start … --clock-speed …`); production leaves it out.
"""

from __future__ import annotations

import logging
import time as _time
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cases.config import cached_district
from cases.db import engine_for_url
from cases.models import utcnow
from scheduler.sweeps import sweep

_LOGGER = logging.getLogger(__name__)

SWEEP_JOB = "scheduler.jobs:sweep_job"
REMINDER_JOB = "scheduler.jobs:reminder_job"


def sim_clock(start: datetime, speed: float, anchor: float | None = None) -> str:
    """A simulated clock as a plain string for a job's arguments: `start` at wall time `anchor` (now)."""
    anchor = _time.time() if anchor is None else anchor
    return f"{start.astimezone(UTC).isoformat()}|{anchor!r}|{speed!r}"


def clock_now(clock: str | None) -> datetime:
    """The time a job sweeps at: the wall clock, or the simulated clock `clock` from `sim_clock`."""
    if not clock:
        return utcnow()
    start, anchor, speed = clock.split("|")
    elapsed = (_time.time() - float(anchor)) * float(speed)
    return datetime.fromisoformat(start) + timedelta(seconds=elapsed)


def sweep_job(db_url: str, config_path: str | None = None, reminder_at: str | None = "09:00",
              clock: str | None = None) -> dict[str, Any]:
    """The interval sweep: overdue marking, the ladder and outbox delivery.

    From `reminder_at` (local time) on it also sends the reminders due today that are still
    unsent, so a scheduler (re)started after 09:00 does not skip the day's reminders;
    the daily reminder job sends them on the dot otherwise. Reminders are claimed once.
    """
    district = cached_district(config_path)
    now = clock_now(clock)
    remind = False
    if reminder_at:
        hour, minute = (int(p) for p in reminder_at.split(":", 1))
        remind = now.astimezone(ZoneInfo(district.district.timezone)).time() >= time(hour, minute)
    return sweep(engine_for_url(db_url), district, now, reminders=remind).as_dict()


def reminder_job(db_url: str, config_path: str | None = None, clock: str | None = None) -> dict[str, Any]:
    """The daily reminder run (09:00 local): the reminders whose day it is, then delivery."""
    report = sweep(engine_for_url(db_url), cached_district(config_path), clock_now(clock), expire=False,
                   ladder=False)
    return report.as_dict()
