"""The ban's guards in the declaration, judged on facts handed in with the subject (no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from workflow.engine import Engine, GuardRefused, engine_for
from workflow.policy import Policy
from workflow.rectification import RECTIFICATION
from workflow.spec import Request
from workflow.workdays import WorkCalendar

POLICY = Policy(checklist=("A",))
CAL = WorkCalendar()


@dataclass
class Subject:
    state: str = "enforcement"
    round: int = 0
    proposer_id: int | None = None
    return_stack: str = ""
    registered_on: date | None = None
    deadline: date | None = date(2026, 11, 20)
    deadline_kind: str | None = "enforcement"
    saved_deadline: date | None = None
    saved_deadline_kind: str | None = None
    intent_number: str | None = None
    intent_served_on: str | None = None
    intent_window_end: str | None = None
    hearing_requested_on: str | None = None
    hearing_held_on: str | None = None


@pytest.fixture
def eng() -> Engine:
    return engine_for(RECTIFICATION)


def ban(eng: Engine, s: Subject, today: date) -> str:
    try:
        eng.fire(s, Request("confirm_ban", "reviewer", actor_id=2, today=today), POLICY, CAL)  # type: ignore[arg-type]
    except GuardRefused as exc:
        return exc.guard.code
    return s.state


SERVED = dict(intent_number="X〔2026〕1号", intent_served_on="2026-11-03", intent_window_end="2026-11-10")


@pytest.mark.parametrize(("facts", "today", "outcome"), [
    ({}, date(2026, 12, 1), "intent_issued"),
    ({"intent_number": "X〔2026〕1号"}, date(2026, 12, 1), "intent_served"),
    (SERVED, date(2026, 11, 10), "window_passed"),  # the last day of the window
    (SERVED, date(2026, 11, 11), "banned"),
    ({**SERVED, "hearing_requested_on": "2026-11-05"}, date(2026, 12, 1), "hearing_settled"),
    ({**SERVED, "hearing_requested_on": "2026-11-05", "hearing_held_on": "2026-11-09"}, date(2026, 11, 9), "banned"),
])
def test_confirm_ban_waits_for_service_and_the_time_to_be_heard(eng: Engine, facts: dict[str, str], today: date,
                                                                 outcome: str) -> None:
    s = Subject(**facts)
    assert ban(eng, s, today) == outcome
    listed = "confirm_ban" in eng.allowed(s if outcome != "banned" else Subject(**facts), "reviewer", 2, POLICY,  # type: ignore[arg-type]
                                          today)
    assert listed == (outcome == "banned")


def test_the_acts_of_the_hearing_keep_the_state_and_the_deadline(eng: Engine) -> None:
    s = Subject(**SERVED)
    for trigger, role in (("record_statement", "inspector"), ("request_hearing", "inspector")):
        step = eng.fire(s, Request(trigger, role, actor_id=1, reason="书面材料", today=date(2026, 11, 5)),  # type: ignore[arg-type]
                        POLICY, CAL)
        assert (step.source, step.dest, s.deadline) == ("enforcement", "enforcement", date(2026, 11, 20))
    s.hearing_requested_on = "2026-11-05"
    step = eng.fire(s, Request("record_hearing", "reviewer", actor_id=2, reason="听证笔录", today=date(2026, 11, 9)),  # type: ignore[arg-type]
                    POLICY, CAL)
    assert step.dest == "enforcement"
