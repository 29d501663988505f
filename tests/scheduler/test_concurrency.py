"""Exactly once: the same sweep repeated, run from several threads and from several processes at once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from cases import audit
from cases.config import District, load_district
from cases.models import Case, Escalation, Message, Notice, Reminder
from cases.supervision import Outcome, escalate
from scheduler.sweeps import SweepReport, sweep
from tests.conftest import Driver, at_once
from tests.scheduler.conftest import at, rectifying_case, workday_near_today, workdays_before

REPO = Path(__file__).resolve().parents[2]
_DISTRICT = load_district(None)  # the `district` fixture's
# near today, since the scheduler processes get the clock as `--now`, which refuses one far from the real clock
TICK = workday_near_today(_DISTRICT)
DEADLINE = workdays_before(_DISTRICT, TICK, 12)  # levels 1, 2 and 3 are all due at TICK (catch-up: 3 taken, 1–2 passed)
LEVEL1_DAY = _DISTRICT.work_calendar().add(DEADLINE, 1)  # the first working day after DEADLINE: level 1 only
REMIND_DEADLINE = _DISTRICT.work_calendar().add(TICK, 1)  # 1 working day after TICK: its 1-day reminder is due


def _fill(driver: Driver, rotting: int, reminded: int) -> list[int]:
    ids = [rectifying_case(driver, DEADLINE, name=f"逾期托幼点{i}").id for i in range(rotting)]
    ids += [rectifying_case(driver, REMIND_DEADLINE, name=f"提醒托幼点{i}").id for i in range(reminded)]
    return ids  # type: ignore[return-value]


def _assert_exactly_once(engine: sa.Engine, rotting: int, reminded: int) -> None:
    with Session(engine) as s:
        esc = s.exec(select(Escalation)).all()
        per_case = Counter(e.case_id for e in esc)
        assert len(per_case) == rotting and set(per_case.values()) == {3}
        assert {(e.level, e.done_on) for e in esc} == {(lv, TICK) for lv in (1, 2, 3)}
        # the catch-up takes only the highest due rung; the lower ones are recorded as passed, not sent
        assert all(e.notice_number and e.event_id and not e.passed for e in esc if e.level == 3)
        assert all(e.passed and not e.notice_number and e.event_id is None for e in esc if e.level < 3)
        ns = s.exec(select(Notice).where(sa.column("kind").in_(["supervision_notice", "listed_supervision"]))).all()
        assert len(ns) == rotting and {n.kind for n in ns} == {"listed_supervision"}
        by_kind: dict[str, list[int]] = {}
        for n in ns:
            by_kind.setdefault(n.kind, []).append(n.seq)
        for kind, seqs in by_kind.items():  # gap-free numbers: nothing taken and given back twice
            assert sorted(seqs) == list(range(1, len(seqs) + 1)), kind
        cases = s.exec(select(Case)).all()
        assert Counter(c.escalation_level for c in cases) == Counter({3: rotting, 0: reminded})
        rem = s.exec(select(Reminder)).all()
        assert len(rem) == reminded and {r.days_before for r in rem} <= {1}
        keys = [m.dedupe_key for m in s.exec(select(Message)).all()]
        assert len(keys) == len(set(keys))
        assert audit.verify(s) == []


def test_the_same_sweep_twice_does_nothing_the_second_time(engine: sa.Engine, district: District,
                                                          driver: Driver) -> None:
    _fill(driver, 2, 1)
    first = sweep(engine, district, at(TICK), deliver=False)
    second = sweep(engine, district, at(TICK), deliver=False)
    assert (first.expired, dict(first.escalated), first.reminded) == (2, {3: 2}, 1)
    assert (second.expired, sum(second.escalated.values()), second.reminded) == (0, 0, 0)
    _assert_exactly_once(engine, 2, 1)


def test_escalate_itself_refuses_a_second_time_and_a_rung_not_due(engine: sa.Engine, district: District,
                                                                  driver: Driver) -> None:
    [case_id] = _fill(driver, 1, 0)
    sweep(engine, district, at(LEVEL1_DAY), ladder=False, reminders=False, deliver=False)  # expire only
    with Session(engine) as s:
        kw = {"session": s, "district": district, "case_id": case_id, "deadline": DEADLINE, "kind": "rectification"}
        assert escalate(**kw, level=2, now=at(LEVEL1_DAY)) is Outcome.NOT_DUE  # type: ignore[arg-type]
        assert escalate(**kw, level=1, now=at(LEVEL1_DAY)) is Outcome.DONE  # type: ignore[arg-type]
        assert escalate(**kw, level=1, now=at(LEVEL1_DAY)) is Outcome.ALREADY  # type: ignore[arg-type]
        other = {**kw, "deadline": DEADLINE - timedelta(days=1)}
        assert escalate(**other, level=1, now=at(LEVEL1_DAY)) is Outcome.MOVED_ON  # type: ignore[arg-type]


def test_sweeps_in_threads_at_once_take_each_step_once(engine: sa.Engine, district: District,
                                                       driver: Driver) -> None:
    rotting, reminded, n = 6, 3, 4
    _fill(driver, rotting, reminded)
    done, errors = at_once(n, lambda: sweep(engine, district, at(TICK), deliver=False))
    assert not errors, errors
    reports: list[SweepReport] = [*done]  # type: ignore[list-item]
    # whatever was left because a case was busy is taken by the next sweep
    reports.append(sweep(engine, district, at(TICK, 11), deliver=False))
    assert sum(r.expired for r in reports) == rotting
    assert sum(sum(r.escalated.values()) for r in reports) == rotting
    assert sum(r.reminded for r in reports) == reminded
    _assert_exactly_once(engine, rotting, reminded)


def _tick_processes(db_url: str, n: int, now: str) -> list[dict[str, object]]:
    cmd = [sys.executable, "-m", "app.cli", "scheduler", "tick", "--db", db_url, "--now", now, "--json",
           "--no-deliver"]
    procs = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_scheduler_processes_at_once_take_each_step_once(engine: sa.Engine, db_url: str, district: District,
                                                         driver: Driver) -> None:
    rotting, reminded = 12, 4
    _fill(driver, rotting, reminded)
    reports = _tick_processes(db_url, 3, f"{TICK.isoformat()}T10:00")
    reports += _tick_processes(db_url, 1, f"{TICK.isoformat()}T11:00")  # picks up what was busy, if anything
    assert sum(int(r["expired"]) for r in reports) == rotting  # type: ignore[call-overload]
    assert sum(sum(r["escalated"].values()) for r in reports) == rotting  # type: ignore[attr-defined]
    assert sum(int(r["reminded"]) for r in reports) == reminded  # type: ignore[call-overload]
    _assert_exactly_once(engine, rotting, reminded)


def test_a_crash_inside_a_rung_leaves_nothing_and_the_next_sweep_takes_it_once(
        engine: sa.Engine, district: District, driver: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    import cases.supervision as supervision

    [case_id] = _fill(driver, 1, 0)
    real_enqueue = supervision.notify.enqueue

    def crash(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(supervision.notify, "enqueue", crash)
    failed = sweep(engine, district, at(TICK), deliver=False)  # logged and counted; the sweep goes on
    assert (failed.expired, failed.errors, sum(failed.escalated.values())) == (1, 1, 0)
    with Session(engine) as s:
        assert s.exec(select(Escalation)).all() == []
        assert s.exec(select(Notice).where(Notice.kind == "supervision_notice")).all() == []
        c = s.get(Case, case_id)
        assert c is not None and (c.state, c.escalation_level) == ("overdue", 0)  # expire had committed before
        assert audit.verify(s) == []
    monkeypatch.setattr(supervision.notify, "enqueue", real_enqueue)
    report = sweep(engine, district, at(TICK, 11), deliver=False)
    assert dict(report.escalated) == {3: 1}
    _assert_exactly_once(engine, 1, 0)
