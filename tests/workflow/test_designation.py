"""A second, different workflow declaration runs on the same engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from workflow.designation import DESIGNATION, INCLUSIVE_PRIVATE, PUBLIC
from workflow.engine import engine_for
from workflow.errors import NotAllowed
from workflow.policy import Policy
from workflow.rectification import RECTIFICATION
from workflow.spec import Request
from workflow.workdays import WorkCalendar

TODAY = date(2026, 11, 2)


@dataclass
class EstateKindergarten:
    state: str = "drafted"
    round: int = 0
    proposer_id: int | None = None
    return_stack: str = ""
    registered_on: date | None = None
    deadline: date | None = None
    deadline_kind: str | None = None
    saved_deadline: date | None = None
    saved_deadline_kind: str | None = None
    public_share: float = 0.6


def fire(s: EstateKindergarten, trigger: str, role: str, actor: int, **kw: object) -> None:
    engine_for(DESIGNATION).fire(s, Request(trigger=trigger, role=role, actor_id=actor, today=TODAY, **kw),  # type: ignore[arg-type]
                                 Policy(approval_days=5), WorkCalendar())


def test_engines_are_separate_machines() -> None:
    assert engine_for(DESIGNATION) is not engine_for(RECTIFICATION)
    assert engine_for(DESIGNATION).machine is not engine_for(RECTIFICATION).machine


def test_township_applies_bureau_reviews_committee_approves() -> None:
    s = EstateKindergarten()
    fire(s, "apply", "lead", 1, target=PUBLIC)
    assert s.state == "applied" and s.deadline == WorkCalendar().add(TODAY, 5)
    fire(s, "review", "reviewer", 2)
    assert s.state == "bureau_reviewed"
    with pytest.raises(NotAllowed):
        fire(s, "approve", "reviewer", 2)
    fire(s, "approve", "committee", 3)
    assert s.state == "designated" and s.deadline is None


def test_send_back_unwinds_one_level_at_a_time() -> None:
    s = EstateKindergarten()
    fire(s, "apply", "lead", 1, target=PUBLIC)
    fire(s, "review", "reviewer", 2)
    fire(s, "send_back", "committee", 3, reason="需补充材料")
    assert s.state == "applied"
    fire(s, "send_back", "reviewer", 2, reason="性质认定依据不足")
    assert s.state == "drafted" and s.return_stack == ""


def test_applicant_cannot_review_own_application() -> None:
    s = EstateKindergarten(proposer_id=None)
    fire(s, "apply", "lead", 5, target=PUBLIC)
    with pytest.raises(NotAllowed):
        fire(s, "review", "reviewer", 5)


def test_public_share_rule_from_the_plan() -> None:
    s = EstateKindergarten(public_share=0.42)
    with pytest.raises(NotAllowed, match="50%"):
        fire(s, "apply", "lead", 1, target=INCLUSIVE_PRIVATE)
    assert s.state == "drafted"
    fire(s, "apply", "lead", 1, target=PUBLIC)
    assert s.state == "applied"
