"""The scheduler's jobs: module-level functions of plain arguments (a database URL, a config path).

APScheduler stores jobs by the import path of their function and pickled arguments, so jobs
take strings, never objects; each call opens (or reuses) the engine and reads the district.
"""

from __future__ import annotations

import logging
from typing import Any

from cases.config import cached_district
from cases.db import engine_for_url
from cases.models import utcnow
from scheduler.sweeps import sweep

_LOGGER = logging.getLogger(__name__)

SWEEP_JOB = "scheduler.jobs:sweep_job"
REMINDER_JOB = "scheduler.jobs:reminder_job"


def sweep_job(db_url: str, config_path: str | None = None) -> dict[str, Any]:
    """The interval sweep: overdue marking, the ladder and outbox delivery (no reminders)."""
    report = sweep(engine_for_url(db_url), cached_district(config_path), utcnow(), reminders=False)
    return report.as_dict()


def reminder_job(db_url: str, config_path: str | None = None) -> dict[str, Any]:
    """The daily reminder run (09:00 local): the reminders whose day it is, then delivery."""
    report = sweep(engine_for_url(db_url), cached_district(config_path), utcnow(), expire=False, ladder=False)
    return report.as_dict()
