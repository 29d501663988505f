"""The rectification declaration executed by the engine, without any database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from workflow.engine import Engine, engine_for
from workflow.errors import InvalidInput, NotAllowed
from workflow.policy import Policy
from workflow.rectification import RECTIFICATION
from workflow.spec import SAME, DeadlineRule, Request, Role, StateSpec, TransitionSpec, WorkflowSpec
from workflow.workdays import WorkCalendar

POLICY = Policy(
    max_rounds=2,
    cutoff=date(2023, 6, 30),
    checklist=("A", "B", "C"),
    major_capable=frozenset({"B"}),
    severity={"A": "general", "B": "major", "C": "serious"},
)
CAL = WorkCalendar()
TODAY = date(2026, 11, 2)  # a Monday


@dataclass
class Subject:
    state: str = "registered"
    round: int = 0
    proposer_id: int | None = None
    return_stack: str = ""
    registered_on: date | None = date(2022, 1, 1)
    deadline: date | None = None
    deadline_kind: str | None = None
    saved_deadline: date | None = None
    saved_deadline_kind: str | None = None


@pytest.fixture
def eng() -> Engine:
    return engine_for(RECTIFICATION)


def fire(eng: Engine, s: Subject, trigger: str, role: str = "inspector", actor: int = 1, **kw: object) -> None:
    eng.fire(s, Request(trigger=trigger, role=role, actor_id=actor, today=TODAY, **kw), POLICY, CAL)  # type: ignore[arg-type]


def test_declaration_has_every_state_and_trigger(eng: Engine) -> None:
    assert len(RECTIFICATION.states) == 16
    assert {s.name for s in RECTIFICATION.states if s.terminal} == {"filed", "converted", "closed", "banned"}
    assert set(RECTIFICATION.triggers) == {
        "start_review", "order_rectification", "request_reinspection", "expire", "fail_reinspection", "suspend",
        "propose_filing", "propose_refusal", "propose_conversion", "propose_enforcement", "propose_closure",
        "approve", "send_back", "confirm_ceased", "confirm_ban", "reopen", "receive_complaint", "reply_complaint",
        "notify_intent", "record_statement", "request_hearing", "record_hearing",
        "report_progress",
    }


def test_one_shared_machine(eng: Engine) -> None:
    assert engine_for(RECTIFICATION) is eng
    a, b = Subject(), Subject()
    fire(eng, a, "start_review")
    fire(eng, b, "start_review")
    fire(eng, a, "propose_closure")
    assert (a.state, b.state) == ("closure_proposed", "under_review")
    # carriers are pooled: the machine holds a bounded number of models, not one per case
    assert len(eng.machine.models) <= 2


def test_full_path_to_filed(eng: Engine) -> None:
    s = Subject()
    fire(eng, s, "start_review")
    assert s.deadline == CAL.add(TODAY, POLICY.review_days)
    fire(eng, s, "order_rectification", failed=frozenset({"A", "C"}))
    assert (s.state, s.round) == ("rectifying", 1)
    # the strictest item decides: C is serious (10 days), A general (20)
    assert s.deadline == CAL.add(TODAY, 10) and s.deadline_kind == "rectification"
    fire(eng, s, "request_reinspection")
    fire(eng, s, "propose_filing")
    assert s.state == "filing_proposed" and s.proposer_id == 1
    fire(eng, s, "approve", role="reviewer", actor=2)
    assert s.state == "filed" and s.deadline is None and s.proposer_id is None


def test_illegal_trigger_names_allowed_ones(eng: Engine) -> None:
    s = Subject()
    with pytest.raises(NotAllowed) as exc:
        fire(eng, s, "approve", role="reviewer")
    assert s.state == "registered"
    assert exc.value.allowed == []
    with pytest.raises(NotAllowed) as exc:
        fire(eng, s, "propose_filing")
    assert set(exc.value.allowed or []) == {"start_review", "propose_closure"}


def test_unknown_trigger_is_invalid_input(eng: Engine) -> None:
    with pytest.raises(InvalidInput):
        fire(eng, Subject(), "fly")


def test_roles(eng: Engine) -> None:
    s = Subject()
    for role in ("reviewer", "lead", "committee", "system", "admin"):
        with pytest.raises(NotAllowed):
            fire(eng, s, "start_review", role=role)
    assert s.state == "registered"
    s = Subject(state="rectifying", round=1, deadline=date(2026, 10, 1))
    with pytest.raises(NotAllowed):
        fire(eng, s, "expire", role="inspector")
    fire(eng, s, "expire", role="system", actor=0)
    assert s.state == "overdue"


def test_expire_needs_a_passed_deadline(eng: Engine) -> None:
    s = Subject(state="rectifying", round=1, deadline=TODAY)
    with pytest.raises(NotAllowed, match="尚未届满"):
        fire(eng, s, "expire", role="system")
    assert s.state == "rectifying"


def test_four_eyes(eng: Engine) -> None:
    s = Subject(state="under_review")
    fire(eng, s, "propose_closure", actor=7)
    with pytest.raises(NotAllowed, match="four eyes"):
        fire(eng, s, "approve", role="reviewer", actor=7)
    with pytest.raises(NotAllowed, match="four eyes"):
        fire(eng, s, "send_back", role="reviewer", actor=7, reason="x")
    fire(eng, s, "approve", role="reviewer", actor=8)
    assert s.state == "closed"


def test_rounds_exhausted_only_enforcement(eng: Engine) -> None:
    s = Subject(state="under_review")
    fire(eng, s, "order_rectification", failed=frozenset({"A"}))
    fire(eng, s, "request_reinspection")
    fire(eng, s, "fail_reinspection", failed=frozenset({"A"}))
    assert s.round == 2
    fire(eng, s, "request_reinspection")
    with pytest.raises(NotAllowed, match="propose_enforcement") as exc:
        fire(eng, s, "fail_reinspection", failed=frozenset({"A"}))
    assert "fail_reinspection" not in (exc.value.allowed or [])
    assert "propose_enforcement" in (exc.value.allowed or [])
    assert s.state == "reinspecting" and s.round == 2
    fire(eng, s, "propose_enforcement", reason="整改不到位")
    assert s.state == "enforcement_proposed"


def test_max_rounds_from_policy(eng: Engine) -> None:
    s = Subject(state="reinspecting", round=2)
    policy3 = Policy(**{**POLICY.__dict__, "max_rounds": 3})
    eng.fire(s, Request(trigger="fail_reinspection", role="inspector", actor_id=1, today=TODAY,  # type: ignore[arg-type]
                        failed=frozenset({"A"})), policy3, CAL)
    assert s.round == 3


def test_cutoff_guard(eng: Engine) -> None:
    s = Subject(state="under_review", registered_on=date(2023, 7, 1))
    with pytest.raises(NotAllowed, match="cut-off"):
        fire(eng, s, "propose_filing")
    ok = Subject(state="under_review", registered_on=date(2023, 6, 30))
    fire(eng, ok, "propose_filing")
    assert ok.state == "filing_proposed"


def test_filing_needs_every_item_passed(eng: Engine) -> None:
    s = Subject(state="under_review")
    with pytest.raises(NotAllowed, match="every checklist item"):
        fire(eng, s, "propose_filing", failed=frozenset({"A"}))


def test_order_needs_a_failed_item(eng: Engine) -> None:
    s = Subject(state="under_review")
    with pytest.raises(NotAllowed, match="at least one"):
        fire(eng, s, "order_rectification")


def test_suspend_needs_major_capable_item(eng: Engine) -> None:
    s = Subject(state="rectifying", round=1)
    with pytest.raises(NotAllowed, match="major-hazard"):
        fire(eng, s, "suspend", failed=frozenset({"A"}))
    with pytest.raises(NotAllowed, match="cannot be a major hazard"):
        fire(eng, s, "suspend", major=frozenset({"A"}))
    fire(eng, s, "suspend", major=frozenset({"B"}))
    assert s.state == "enforcement" and s.deadline_kind == "enforcement"


def test_send_back_returns_to_state_before_with_its_deadline(eng: Engine) -> None:
    s = Subject(state="under_review")
    fire(eng, s, "order_rectification", failed=frozenset({"A"}))
    rect_deadline = s.deadline
    fire(eng, s, "propose_conversion", reason="转型", target="普惠园")
    assert s.deadline_kind == "approval"
    with pytest.raises(NotAllowed, match="reason"):
        fire(eng, s, "send_back", role="reviewer", actor=2)
    fire(eng, s, "send_back", role="reviewer", actor=2, reason="材料不全")
    assert s.state == "rectifying" and s.deadline == rect_deadline and s.deadline_kind == "rectification"
    assert s.return_stack == "" and s.proposer_id is None


@pytest.mark.parametrize("source", ["under_review", "reinspecting"])
def test_send_back_from_refusal(eng: Engine, source: str) -> None:
    s = Subject(state=source, round=1)
    fire(eng, s, "propose_refusal", reason="不符合条件")
    fire(eng, s, "send_back", role="reviewer", actor=2, reason="证据不足")
    assert s.state == source


def test_reason_required(eng: Engine) -> None:
    for trigger, state in (("propose_refusal", "under_review"), ("propose_enforcement", "overdue"),
                           ("reopen", "filed")):
        s = Subject(state=state)
        with pytest.raises(NotAllowed, match="reason"):
            fire(eng, s, trigger)
        assert s.state == state


def test_conversion_needs_target(eng: Engine) -> None:
    s = Subject(state="under_review")
    with pytest.raises(NotAllowed, match="target"):
        fire(eng, s, "propose_conversion", reason="转型")


def test_reopen_by_reviewer_resets_rounds(eng: Engine) -> None:
    s = Subject(state="filed", round=2)
    fire(eng, s, "reopen", role="reviewer", actor=3, reason="12345 接诉即办投诉")
    assert (s.state, s.round, s.deadline_kind) == ("under_review", 0, "review")


def test_refused_paths(eng: Engine) -> None:
    s = Subject(state="refused", deadline=date(2026, 12, 1), deadline_kind="cessation")
    assert set(eng.allowed(s, "inspector", 1, POLICY, TODAY)) == {"propose_enforcement", "confirm_ceased"}
    fire(eng, s, "confirm_ceased")
    assert s.state == "closed"


def test_allowed_lists_by_role(eng: Engine) -> None:
    s = Subject(state="enforcement")
    assert eng.allowed(s, "reviewer", 2, POLICY, TODAY) == ["notify_intent"]  # no ban before the notice of intent
    assert eng.allowed(s, "inspector", 1, POLICY, TODAY) == []
    assert eng.allowed(s, "committee", 9, POLICY, TODAY) == []


def test_mermaid_and_table(eng: Engine) -> None:
    m = eng.mermaid()
    assert m.startswith("stateDiagram-v2")
    assert "filing_proposed --> under_review: send_back" in m
    assert "filing_proposed --> reinspecting: send_back" in m
    assert len(eng.table()) == len(RECTIFICATION.transitions)


# -- transitions that keep the state ---------------------------------------------------------


def _stay_spec(**over: object) -> WorkflowSpec:
    note = TransitionSpec(trigger="note", sources=("open", "asked"), dest=SAME, roles=frozenset({Role.INSPECTOR}),
                          zh="记录", en="note", **over)  # type: ignore[arg-type]
    ask = TransitionSpec(trigger="ask", sources=("open",), dest="asked", roles=frozenset({Role.INSPECTOR}),
                         zh="提议", en="ask", proposes=True, deadline=DeadlineRule.APPROVAL)
    return WorkflowSpec(name="stay_demo", zh="演示", initial="open",
                        states=(StateSpec("open", "开", "open"), StateSpec("asked", "提议", "asked", proposal=True)),
                        transitions=(note, ask))


def test_same_keeps_state_and_books() -> None:
    eng = Engine(_stay_spec())
    case = Subject(state="open")
    eng.fire(case, Request(trigger="ask", role="inspector", actor_id=7, today=date(2026, 11, 2)), Policy(),
             WorkCalendar())
    before = (case.state, case.proposer_id, case.return_stack, case.deadline, case.round)
    step = eng.fire(case, Request(trigger="note", role="inspector", actor_id=8, today=date(2026, 11, 3)), Policy(),
                    WorkCalendar())
    assert (step.source, step.dest) == ("asked", "asked")
    assert (case.state, case.proposer_id, case.return_stack, case.deadline, case.round) == before
    assert "note" in eng.allowed(case, "inspector", 8, Policy())
    assert ("note", "记录", "open, asked", "（状态不变）", "inspector") in eng.table()
    assert "asked --> asked: note" in eng.mermaid()


def test_same_cannot_set_a_deadline_or_propose() -> None:
    with pytest.raises(ValueError, match="keeps the state"):
        Engine(_stay_spec(deadline=DeadlineRule.REVIEW))
    with pytest.raises(ValueError, match="keeps the state"):
        Engine(_stay_spec(proposes=True))
