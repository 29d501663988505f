"""APScheduler 3.x wiring: the interval sweep and the daily reminder run, with their job store in our database.

- `run_blocking(db_url, config_path)`: `tuoyou scheduler run`, the scheduler alone in the
  foreground (BlockingScheduler) until SIGTERM/SIGINT, which stop it cleanly (a running
  sweep finishes first).
- `start_background(db_url, config_path)`: for `tuoyou serve`, the same jobs in a
  BackgroundScheduler inside the web process; call `stop_background(scheduler)` on shutdown.

Jobs are stored by `SQLAlchemyJobStore` in the same database (table `apscheduler_jobs`),
referenced by import path with plain arguments, coalesced when missed, one instance at a
time. Any number of schedulers may run against one database: the database, not the
scheduler, decides what is due, and every step is claimed exactly once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.exc import DBAPIError

from cases.config import cached_district
from cases.db import engine_for_url, normalize_url
from scheduler.jobs import REMINDER_JOB, SWEEP_JOB

_LOGGER = logging.getLogger(__name__)

SWEEP_JOB_ID = "tuoyou-sweep"
REMINDER_JOB_ID = "tuoyou-reminders"
JOBS_TABLE = "apscheduler_jobs"
DEFAULT_INTERVAL_MINUTES = 5.0
DEFAULT_REMINDER_AT = "09:00"


def _parse_hhmm(value: str) -> tuple[int, int]:
    try:
        hour, minute = (int(p) for p in value.split(":", 1))
    except ValueError:
        raise ValueError(f"reminder time must be HH:MM, got {value!r}") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"reminder time must be HH:MM, got {value!r}")
    return hour, minute


def _log_job(event: JobExecutionEvent) -> None:
    if event.exception is not None:
        _LOGGER.error("job %s failed: %s", event.job_id, event.exception)
    else:
        _LOGGER.info("job %s done: %s", event.job_id, event.retval)


def ensure_jobs_table(store: SQLAlchemyJobStore, attempts: int = 5) -> None:
    """Create the job store's table unless it exists, even when several schedulers start at once.

    APScheduler creates it on `start()` with check-then-create, which is not atomic: two schedulers
    starting together both try, and the loser stopped with an error (a unique violation on PostgreSQL,
    "table already exists" on SQLite). Here the loser waits a moment, checks again and finds the table.
    """
    for attempt in range(attempts):
        try:
            store.jobs_t.create(store.engine, checkfirst=True)
            return
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            _LOGGER.info("job table: created by another scheduler meanwhile, checking again")
            time.sleep(0.05 * (attempt + 1))


def configure(
    scheduler: BaseScheduler,
    db_url: str,
    config_path: str | None = None,
    *,
    interval_minutes: float = DEFAULT_INTERVAL_MINUTES,
    reminder_at: str = DEFAULT_REMINDER_AT,
    run_now: bool = True,
    clock: str | None = None,
) -> BaseScheduler:
    """Give `scheduler` our job store, defaults and the two jobs (replacing stored copies).

    `clock` (from `scheduler.jobs.sim_clock`) makes the jobs sweep at a simulated time (drills, soak tests).
    """
    if interval_minutes <= 0:
        raise ValueError("interval_minutes must be positive")
    hour, minute = _parse_hhmm(reminder_at)
    tz = ZoneInfo(cached_district(config_path).district.timezone)
    url = normalize_url(db_url)
    store = SQLAlchemyJobStore(engine=engine_for_url(url), tablename=JOBS_TABLE)
    ensure_jobs_table(store)
    scheduler.configure(
        jobstores={"default": store},
        executors={"default": {"type": "threadpool", "max_workers": 2}},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=tz,
    )
    args = [url, config_path]
    kwargs = {"clock": clock} if clock else {}
    scheduler.add_job(SWEEP_JOB, "interval", minutes=interval_minutes, args=[*args, reminder_at], kwargs=kwargs,
                      id=SWEEP_JOB_ID,
                      name="逾期标记、督办升级与消息投递 / expire, escalate, deliver", replace_existing=True,
                      next_run_time=datetime.now(tz) if run_now else None)
    scheduler.add_job(REMINDER_JOB, "cron", hour=hour, minute=minute, timezone=tz, args=args, kwargs=kwargs,
                      id=REMINDER_JOB_ID,
                      name="期限提醒 / deadline reminders", replace_existing=True)
    scheduler.add_listener(_log_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    return scheduler


def start_background(
    db_url: str,
    config_path: str | None = None,
    *,
    interval_minutes: float = DEFAULT_INTERVAL_MINUTES,
    reminder_at: str = DEFAULT_REMINDER_AT,
    run_now: bool = True,
    clock: str | None = None,
) -> BackgroundScheduler:
    """Start the scheduler in background threads of this process (for `tuoyou serve`).

    Returns the running scheduler; stop it with `stop_background(scheduler)` when the
    process shuts down.
    """
    sched = BackgroundScheduler(daemon=True)
    configure(sched, db_url, config_path, interval_minutes=interval_minutes, reminder_at=reminder_at,
              run_now=run_now, clock=clock)
    sched.start()
    _LOGGER.info("background scheduler started: sweep every %s min, reminders at %s", interval_minutes, reminder_at)
    return sched


def stop_background(scheduler: BaseScheduler, *, wait: bool = True) -> None:
    """Stop a scheduler from `start_background`; with `wait`, a running sweep finishes first."""
    if scheduler.state != STATE_STOPPED:
        scheduler.shutdown(wait=wait)
        _LOGGER.info("scheduler stopped")


def run_blocking(
    db_url: str,
    config_path: str | None = None,
    *,
    interval_minutes: float = DEFAULT_INTERVAL_MINUTES,
    reminder_at: str = DEFAULT_REMINDER_AT,
    install_signals: bool = True,
    clock: str | None = None,
) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT (Ctrl-C)."""
    sched = BlockingScheduler()
    configure(sched, db_url, config_path, interval_minutes=interval_minutes, reminder_at=reminder_at, clock=clock)

    def stop(signum: int, _frame: FrameType | None) -> None:
        _LOGGER.info("signal %s: stopping the scheduler after the running job", signum)
        # shutdown(wait=True) joins the worker threads: do it off the signal handler
        threading.Thread(target=stop_background, args=(sched,), name="scheduler-stop").start()

    previous: dict[int, Any] = {}
    if install_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, stop)
    try:
        sched.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
