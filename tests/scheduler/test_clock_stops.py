"""Send-back on the real service: the deadline moves on by the days the bureau took, the ladder keeps its rungs,
and the inspector's message says 退回 and why."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from cases.config import District
from scheduler.sweeps import sweep
from tests.conftest import Driver, People
from tests.scheduler.conftest import at, days, escalations, events, fresh, messages, rectifying_case


def test_send_back_after_a_wait_moves_the_deadline_and_says_why(engine: sa.Engine, district: District,
                                                               driver: Driver, people: People) -> None:
    cal = district.work_calendar()
    deadline = date(2026, 11, 20)
    case = rectifying_case(driver, deadline)
    driver.do(case, "propose_conversion", reason="申请转型", target="普惠性民办幼儿园", now=at(date(2026, 11, 16)))
    assert fresh(engine, case.id).proposed_on == date(2026, 11, 16)  # type: ignore[arg-type]
    # the bureau decides eight working days later: the rectification deadline has passed meanwhile
    back_on = cal.add(date(2026, 11, 16), 8)
    r = driver.do(case, "send_back", actor=people.reviewer, reason="转型方案不完整", now=at(back_on, 15))
    assert r.case.state == "rectifying" and r.case.deadline == cal.add(deadline, 8)
    assert r.case.deadline > back_on  # the inspector is not late because the bureau was slow
    [ev] = events(engine, case.id, "send_back")  # type: ignore[arg-type]
    assert ev.data["paused_days"] == 8 and ev.data["deadline_before"] == deadline.isoformat()
    assert fresh(engine, case.id).proposed_on is None  # type: ignore[arg-type]
    inbox = [m for m in messages(engine, f"event:{case.id}:{ev.seq}") if m.channel == "inbox"]
    assert {m.user_id for m in inbox} == {people.inspector.id, people.inspector2.id}  # the township's inspectors
    msg = inbox[0]
    assert msg.subject.startswith("【退回】") and "转型方案不完整" in msg.subject
    assert "退回理由：转型方案不完整" in msg.body and "8 个工作日不计入" in msg.body
    assert cal.add(deadline, 8).isoformat() in msg.body
    # nothing expires while the moved deadline still runs
    report = sweep(engine, district, at(back_on, 16), deliver=False)
    assert fresh(engine, case.id).state == "rectifying" and not escalations(engine, case.id)  # type: ignore[arg-type]
    assert report is not None


def test_a_moved_deadline_keeps_the_rungs_already_taken(engine: sa.Engine, district: District,
                                                       driver: Driver, people: People) -> None:
    cal = district.work_calendar()
    deadline = date(2026, 11, 6)
    case = rectifying_case(driver, deadline)
    sweep(engine, district, at(date(2026, 11, 13)), deliver=False)  # 5 working days over: levels 1 and 2
    assert sorted(e.level for e in escalations(engine, case.id)) == [1, 2]  # 1 passed, 2 issued
    driver.do(case, "propose_enforcement", reason="逾期拒不整改", now=at(date(2026, 11, 16)))
    driver.do(case, "send_back", actor=people.reviewer, reason="请先复查", now=at(date(2026, 11, 19), 11))
    c = fresh(engine, case.id)  # type: ignore[arg-type]
    moved = cal.add(deadline, 3)
    assert (c.state, c.deadline, c.escalation_level) == ("overdue", moved, 2)
    # level 3 comes 10 working days after the moved deadline, and levels 1-2 are not issued again
    third = cal.add(moved, district.ladder.level3)
    for day in days(date(2026, 11, 19), third):
        if day < third:
            assert sum(sweep(engine, district, at(day, 12), deliver=False).escalated.values()) == 0, day
    assert dict(sweep(engine, district, at(third), deliver=False).escalated) == {3: 1}
    assert sorted(e.level for e in escalations(engine, case.id)) == [1, 2, 3]
