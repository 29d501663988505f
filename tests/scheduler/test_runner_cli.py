"""The APScheduler wiring and the commands: `scheduler tick`, `scheduler run` (SIGTERM) and `inbox`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from typer.testing import CliRunner

from app.cli import app
from cases.config import District
from scheduler.runner import REMINDER_JOB_ID, SWEEP_JOB_ID, start_background, stop_background
from tests.conftest import Driver, People
from tests.scheduler.conftest import at, messages, rectifying_case, workday_near_today, workdays_before

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def cli(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def _job_ids(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.text("select id from apscheduler_jobs"))}


def test_background_scheduler_stores_its_jobs_and_runs_the_sweep(engine: sa.Engine, db_url: str) -> None:
    done = threading.Event()
    results: list[JobExecutionEvent] = []

    def seen(event: JobExecutionEvent) -> None:
        results.append(event)
        done.set()

    sched = start_background(db_url, None, interval_minutes=60)
    try:
        sched.add_listener(seen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        assert done.wait(20), "the first sweep did not run"
        assert _job_ids(engine) == {SWEEP_JOB_ID, REMINDER_JOB_ID}
        reminder = sched.get_job(REMINDER_JOB_ID)
        assert reminder is not None and reminder.func_ref == "scheduler.jobs:reminder_job"
        assert reminder.args == (db_url, None)  # plain arguments, no objects
        nxt = reminder.next_run_time.astimezone(ZoneInfo("Asia/Shanghai"))
        assert (nxt.hour, nxt.minute) == (9, 0)
        sweep_job = sched.get_job(SWEEP_JOB_ID)
        assert sweep_job is not None and sweep_job.coalesce and sweep_job.max_instances == 1
        assert sweep_job.misfire_grace_time is None
    finally:
        stop_background(sched)
    assert results[0].exception is None and results[0].job_id == SWEEP_JOB_ID
    assert set(results[0].retval) >= {"expired", "escalated", "delivery"}
    # a second start (another process, or a restart) replaces the stored jobs instead of doubling them
    again = start_background(db_url, None, run_now=False)
    stop_background(again)
    assert _job_ids(engine) == {SWEEP_JOB_ID, REMINDER_JOB_ID}


def test_scheduler_run_stops_cleanly_on_sigterm(engine: sa.Engine, db_url: str) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the signal handling does not depend on the database")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "scheduler", "run", "--db", db_url, "--interval", "60"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if _job_ids(engine) == {SWEEP_JOB_ID, REMINDER_JOB_ID}:
                    break
            except sa.exc.OperationalError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the scheduler did not store its jobs")
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "调度器已启动" in err and "调度器已停止 / scheduler stopped" in err


def test_tick_inbox_and_mark_read_from_the_command_line(db_url: str, engine: sa.Engine, district: District,
                                                        driver: Driver, people: People) -> None:
    tick = workday_near_today(district)  # dates near today: `--now` refuses a clock far from the real one
    rectifying_case(driver, workdays_before(district, tick, 12))  # 12 working days overdue at the tick
    out = json.loads(cli("scheduler", "tick", "--db", db_url, "--now", f"{tick.isoformat()}T10:00", "--json").stdout)
    assert out["today"] == tick.isoformat() and out["expired"] == 1
    # a catch-up takes only the highest due rung (levels 1 and 2 recorded as passed, not sent)
    assert out["escalated"] == {"1": 0, "2": 0, "3": 1} and out["delivery"]["claimed"] == 0  # mail not enabled
    text = cli("scheduler", "tick", "--db", db_url, "--now", f"{tick.isoformat()}T10:05").stdout
    assert "督办升级：镇街督办 0" in text and "escalations: level 1 0" in text
    bad = cli("scheduler", "tick", "--db", db_url, "--now", "next tuesday", code=2)
    assert "--now" in bad.stderr
    assert json.loads(cli("inbox", "--as", people.lead.name, "--db", db_url, "--json").stdout) == []
    inbox = json.loads(cli("inbox", "--as", people.committee.name, "--db", db_url, "--json").stdout)
    assert len(inbox) == 1 and inbox[0]["status"] == "unread" and inbox[0]["subject"].startswith("【挂牌督办】")
    assert inbox[0]["at"].startswith(f"{tick.isoformat()}T10:00")
    committee = json.loads(cli("inbox", "--as", people.committee.name, "--db", db_url, "--json", "--mark-read").stdout)
    assert [m["subject"][:6] for m in committee] == ["【挂牌督办】"]
    assert json.loads(cli("inbox", "--as", people.committee.name, "--db", db_url, "--json", "--unread").stdout) == []
    assert "未读 0" in cli("inbox", "--as", people.committee.name, "--db", db_url).stdout
    assert len(messages(engine, "escalate:", "inbox")) == 1  # the committee (挂牌督办)


def test_now_without_a_zone_is_local_time(db_url: str, engine: sa.Engine, district: District,
                                          driver: Driver) -> None:
    day = workday_near_today(district)
    rectifying_case(driver, workdays_before(district, day, 1))  # level 1 is due on `day`, not the day before
    # 00:30 on `day` in Beijing is still the day before in UTC: the local date decides
    out = json.loads(cli("scheduler", "tick", "--db", db_url, "--now", f"{day.isoformat()}T00:30", "--json").stdout)
    assert out["today"] == day.isoformat() and out["escalated"]["1"] == 1
    assert datetime.fromisoformat(out["now"]) == at(day, 0, 30)
    assert datetime.fromisoformat(out["now"]).date() == day - timedelta(days=1)


def test_the_interval_sweep_sends_the_days_reminders_only_from_reminder_time(
        monkeypatch: pytest.MonkeyPatch, engine: sa.Engine, db_url: str, driver: Driver) -> None:
    """A scheduler (re)started after 09:00 still sends the day's reminders, once; none before 09:00."""
    import scheduler.jobs as jobs

    rectifying_case(driver, date(2026, 11, 20))  # its 1-day reminder is due on the 19th
    monkeypatch.setattr(jobs, "utcnow", lambda: at(date(2026, 11, 19), 8, 30))
    assert jobs.sweep_job(db_url, None, "09:00")["reminded"] == 0
    monkeypatch.setattr(jobs, "utcnow", lambda: at(date(2026, 11, 19), 11, 0))
    assert jobs.sweep_job(db_url, None, "09:00")["reminded"] == 1
    assert jobs.sweep_job(db_url, None, "09:00")["reminded"] == 0
    assert jobs.reminder_job(db_url, None)["reminded"] == 0
