"""`tuoyou serve --workers N` (several web processes, one scheduler) and the scheduler's simulated clock."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session
from typer.testing import CliRunner

from app.cli import app
from cases.users import add_user, issue_token
from scheduler.jobs import clock_now, sim_clock
from scheduler.runner import REMINDER_JOB_ID, SWEEP_JOB_ID, start_background, stop_background

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """`tuoyou serve` in its own process group, its output collected as it comes."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, times: int, seconds: float = 90) -> None:
        """Wait until `text` was printed `times` times (a loaded machine starts workers slowly)."""
        deadline = time.monotonic() + seconds
        while sum(text in line for line in self.lines) < times and time.monotonic() < deadline:
            time.sleep(0.2)

    def stop(self) -> str:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._reader.join(timeout=10)
        return "".join(self.lines)


def _serve(db_url: str, tmp_path: Path, *extra: str) -> tuple[_Server, str]:
    port = _free_port()
    env = {**os.environ, "TUOYOU_DATA_DIR": str(tmp_path / "data")}
    env.pop("TUOYOU_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--db", db_url, "--port", str(port), *extra],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    return _Server(proc), f"http://127.0.0.1:{port}"


def _wait_ready(base: str, token: str, seconds: float = 60) -> None:
    """Wait until the API answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=2)
            if r.status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        pytest.fail("the web workers did not answer")


def test_several_workers_serve_one_database_and_the_scheduler_runs_once(engine: sa.Engine, db_url: str,
                                                                         tmp_path: Path) -> None:
    with Session(engine, expire_on_commit=False) as s:
        user = add_user(s, name="rev", role="reviewer")
        token = issue_token(s, user)
    server, base = _serve(db_url, tmp_path, "--workers", "2")
    try:
        _wait_ready(base, token)
        server.wait_for("Started server process", 2)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(headers=headers, timeout=10) as client:
            answers = [client.get(f"{base}/api/v1/cases").status_code for _ in range(20)]
        assert answers == [200] * 20
        # the scheduler ran in the supervising process: its jobs are stored once
        with engine.connect() as conn:
            jobs = {r[0] for r in conn.execute(sa.text("select id from apscheduler_jobs"))}
        assert jobs == {SWEEP_JOB_ID, REMINDER_JOB_ID}
    finally:
        out = server.stop()
    assert "2 个工作进程" in out and "with 2 workers" in out, out
    assert out.count("Started server process") == 2, out
    assert "Traceback" not in out, out


def test_workers_without_the_scheduler_store_no_jobs(engine: sa.Engine, db_url: str, tmp_path: Path) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("process wiring, not the database, is under test")
    with Session(engine, expire_on_commit=False) as s:
        token = issue_token(s, add_user(s, name="rev", role="reviewer"))
    server, base = _serve(db_url, tmp_path, "--workers", "2", "--no-scheduler")
    try:
        _wait_ready(base, token)
        time.sleep(1)
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            jobs = conn.execute(sa.text("select count(*) from apscheduler_jobs")).scalar() \
                if "apscheduler_jobs" in tables else 0
        assert jobs == 0
    finally:
        out = server.stop()
    assert "请另行运行 tuoyou scheduler run" in out, out


@pytest.mark.parametrize("workers", ["0", "65", "-1"])
def test_a_worker_count_out_of_range_is_refused(workers: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--workers", workers])
    assert result.exit_code == 2, result.output
    assert "--workers 须在 1 到 64 之间" in result.stderr and "--workers must be 1 to 64" in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_the_simulated_clock_starts_where_asked_and_runs_faster() -> None:
    start = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    clock = sim_clock(start, 3600.0, anchor=time.time() - 10)  # started 10 s ago at 3600x: 10 hours later
    now = clock_now(clock)
    assert timedelta(hours=9, minutes=59) <= now - start <= timedelta(hours=10, minutes=5)
    assert now.tzinfo is not None
    wall = clock_now(None)
    assert abs((wall - datetime.now(UTC)).total_seconds()) < 5


def test_the_scheduler_sweeps_at_the_simulated_time(engine: sa.Engine, db_url: str) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the clock does not depend on the database")
    clock = sim_clock(datetime(2026, 11, 2, 2, 0, tzinfo=UTC), 1.0)
    sched = start_background(db_url, None, interval_minutes=60, run_now=False, clock=clock)
    try:
        job = sched.get_job(SWEEP_JOB_ID)
        assert job is not None and job.kwargs == {"clock": clock}
        assert sched.get_job(REMINDER_JOB_ID).kwargs == {"clock": clock}  # type: ignore[union-attr]
        result = job.func(*job.args, **job.kwargs)
    finally:
        stop_background(sched)
    assert result["now"].startswith("2026-11-02T02:00")


@pytest.mark.parametrize(("args", "message"), [
    (["--clock-speed", "0"], "--clock-speed must be above 0"),
    (["--clock-speed", "1e9"], "--clock-speed must be above 0 and at most 100000"),
    (["--clock-start", "tomorrow"], "--clock-start must be an ISO datetime"),
])
def test_scheduler_run_refuses_a_bad_clock(args: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scheduler", "run", "--db", f"sqlite:///{tmp_path / 'x.db'}", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
