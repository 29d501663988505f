"""The scheduler's jobs: module-level functions of plain arguments (a database URL, a config path).

APScheduler stores jobs by the import path of their function and pickled arguments, so jobs
take strings, never objects; each call opens (or reuses) the engine and reads the district.
"""

from __future__ import annotations

import logging
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from cases.config import cached_district
from cases.db import engine_for_url
from cases.models import utcnow
from scheduler.sweeps import sweep

_LOGGER = logging.getLogger(__name__)

SWEEP_JOB = "scheduler.jobs:sweep_job"
REMINDER_JOB = "scheduler.jobs:reminder_job"


def sweep_job(db_url: str, config_path: str | None = None, reminder_at: str | None = "09:00") -> dict[str, Any]:
    """The interval sweep: overdue marking, the ladder and outbox delivery.

    From `reminder_at` (local time) on it also sends the reminders due today that are still
    unsent, so a scheduler (re)started after 09:00 does not skip the day's reminders;
    the daily reminder job sends them on the dot otherwise. Reminders are claimed once.
    """
    district = cached_district(config_path)
    now = utcnow()
    remind = False
    if reminder_at:
        hour, minute = (int(p) for p in reminder_at.split(":", 1))
        remind = now.astimezone(ZoneInfo(district.district.timezone)).time() >= time(hour, minute)
    return sweep(engine_for_url(db_url), district, now, reminders=remind).as_dict()


def reminder_job(db_url: str, config_path: str | None = None) -> dict[str, Any]:
    """The daily reminder run (09:00 local): the reminders whose day it is, then delivery."""
    report = sweep(engine_for_url(db_url), cached_district(config_path), utcnow(), expire=False, ladder=False)
    return report.as_dict()
