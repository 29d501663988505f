"""The clock stops while the bureau decides: a send-back restores the deadline moved on by the days it waited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tests.workflow.test_engine import CAL, POLICY
from workflow.engine import engine_for
from workflow.rectification import RECTIFICATION
from workflow.spec import Request
from workflow.workdays import WorkCalendar


@dataclass
class Subject:
    state: str = "under_review"
    round: int = 0
    proposer_id: int | None = None
    return_stack: str = ""
    registered_on: date | None = date(2022, 1, 1)
    deadline: date | None = None
    deadline_kind: str | None = None
    saved_deadline: date | None = None
    saved_deadline_kind: str | None = None
    proposed_on: date | None = None


def fire(s: Subject, trigger: str, today: date, role: str = "inspector", actor: int = 1, cal: WorkCalendar = CAL,
         **kw: object):  # type: ignore[no-untyped-def]
    return engine_for(RECTIFICATION).fire(
        s, Request(trigger=trigger, role=role, actor_id=actor, today=today, **kw), POLICY, cal)  # type: ignore[arg-type]


def test_send_back_adds_the_working_days_the_proposal_waited() -> None:
    s = Subject()
    fire(s, "order_rectification", date(2026, 11, 2), failed=frozenset({"A"}))
    rect = s.deadline
    assert rect is not None
    fire(s, "propose_conversion", date(2026, 11, 4), reason="转型", target="普惠园")  # Wednesday
    assert s.proposed_on == date(2026, 11, 4) and s.saved_deadline == rect
    # back the next Tuesday: Thu, Fri, Mon, Tue = 4 working days waited (the weekend does not count)
    step = fire(s, "send_back", date(2026, 11, 10), role="reviewer", actor=2, reason="材料不全")
    assert step.paused_days == 4 and step.restored_from == rect
    assert s.deadline == CAL.add(rect, 4) and s.deadline_kind == "rectification"
    assert s.proposed_on is None and s.saved_deadline is None


def test_a_same_day_send_back_restores_the_deadline_unchanged() -> None:
    s = Subject()
    fire(s, "order_rectification", date(2026, 11, 2), failed=frozenset({"A"}))
    rect = s.deadline
    fire(s, "propose_conversion", date(2026, 11, 4), reason="转型", target="普惠园")
    step = fire(s, "send_back", date(2026, 11, 4), role="reviewer", actor=2, reason="材料不全")
    assert step.paused_days == 0 and s.deadline == rect


def test_a_deadline_already_missed_is_not_made_worse_by_the_wait() -> None:
    s = Subject(state="overdue", deadline=date(2026, 10, 20), deadline_kind="rectification", round=1)
    fire(s, "propose_enforcement", date(2026, 11, 2), reason="拒不整改")
    step = fire(s, "send_back", date(2026, 11, 6), role="reviewer", actor=2, reason="请先复查")
    assert s.state == "overdue" and step.paused_days == 4
    assert s.deadline == CAL.add(date(2026, 10, 20), 4)  # as overdue as it was when proposed, no more


def test_calendar_day_districts_count_calendar_days() -> None:
    cal = WorkCalendar(mode="calendar")
    s = Subject()
    fire(s, "order_rectification", date(2026, 11, 2), failed=frozenset({"A"}), cal=cal)
    rect = s.deadline
    assert rect is not None
    fire(s, "propose_conversion", date(2026, 11, 4), reason="转型", target="普惠园", cal=cal)
    fire(s, "send_back", date(2026, 11, 10), role="reviewer", actor=2, reason="材料不全", cal=cal)
    assert (s.deadline - rect).days == 6  # type: ignore[operator]


def test_approval_clears_the_proposal_day() -> None:
    s = Subject()
    fire(s, "propose_filing", date(2026, 11, 2))
    assert s.proposed_on == date(2026, 11, 2)
    fire(s, "approve", date(2026, 11, 5), role="reviewer", actor=2)
    assert s.state == "filed" and s.proposed_on is None


def test_subjects_without_the_attribute_keep_the_old_behaviour() -> None:
    from tests.workflow.test_engine import Subject as Plain

    s = Plain(state="under_review")
    fire(s, "order_rectification", date(2026, 11, 2), failed=frozenset({"A"}))  # type: ignore[arg-type]
    rect = s.deadline
    fire(s, "propose_conversion", date(2026, 11, 4), reason="转型", target="普惠园")  # type: ignore[arg-type]
    step = fire(s, "send_back", date(2026, 11, 10), role="reviewer", actor=2, reason="x")  # type: ignore[arg-type]
    assert s.deadline == rect and step.paused_days == 0 and not hasattr(s, "proposed_on")
