"""The case service on a real database: rules, scope, notices, audit, nothing lost on refusal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from cases import audit
from cases.config import District
from cases.errors import Conflict, InvalidInput, NotAllowed, NotFound
from cases.models import Case, CaseEvent, Inspection, Message, Notice
from cases.queries import case_detail, list_cases
from cases.service import Action, advance
from cases.serving import deliver
from tests.conftest import NOW, Driver, People


def _events(session: Session, case_id: int) -> list[CaseEvent]:
    return list(session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.seq))))


def _snapshot(session: Session, case_id: int) -> tuple[object, ...]:
    session.expire_all()
    c = session.get(Case, case_id)
    assert c is not None
    n_events = len(_events(session, case_id))
    n_notices = session.exec(select(sa.func.count()).select_from(Notice)).one()
    return (c.state, c.version, c.round, c.deadline, c.proposer_id, n_events, n_notices)


def test_lifecycle_writes_events_inspections_and_notices(driver: Driver, session: Session, people: People) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    r = driver.do(case, "order_rectification", failed=("F01", "R01"), notes={"F01": "灭火器过期"})
    assert r.case.state == "rectifying" and r.case.round == 1
    assert [n.kind for n in r.notices] == ["rectification_order"]
    notice = r.notices[0]
    assert notice.number == f"武清教整〔{NOW.year}〕1号"
    assert [i["code"] for i in notice.data["items"]] == ["F01", "R01"]
    assert notice.data["items"][0]["note"] == "灭火器过期"
    assert notice.data["deadline"] == r.case.deadline.isoformat()  # type: ignore[union-attr]
    assert notice.data["deadline_days"] == 5  # F01 is a major-severity item: 5 working days
    insp = session.exec(select(Inspection).where(Inspection.case_id == case.id)).one()
    assert insp.results["F01"] == "fail" and insp.results["P01"] == "pass"
    driver.do(case, "request_reinspection")
    r = driver.do(case, "propose_filing")
    assert r.case.state == "filing_proposed"
    r = driver.do(case, "approve", actor=people.reviewer)
    assert r.case.state == "filed"
    assert r.notices[0].kind == "filing_receipt"
    evs = _events(session, case.id)  # type: ignore[arg-type]
    assert [e.trigger for e in evs] == ["open", "start_review", "order_rectification", "request_reinspection",
                                        "propose_filing", "approve"]
    assert evs[2].notice_number == notice.number
    assert evs[-1].role == "reviewer" and evs[-1].actor == "rev"
    assert audit.verify(session) == []


def test_refused_action_changes_nothing(driver: Driver, session: Session, people: People) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    before = _snapshot(session, case.id)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed) as exc:
        driver.do(case, "approve", actor=people.reviewer)
    assert exc.value.allowed == []
    with pytest.raises(NotAllowed) as exc:
        driver.do(case, "order_rectification")  # no failed item
    assert "order_rectification" in (exc.value.allowed or [])
    with pytest.raises(InvalidInput, match="unknown checklist"):
        driver.do(case, "order_rectification", failed=("NOPE",))
    with pytest.raises(InvalidInput):
        driver.do(case, "propose_closure", failed=("F01",))
    with pytest.raises(InvalidInput):
        driver.do(case, "order_rectification", failed=("F01",), major=("F01",))
    assert _snapshot(session, case.id) == before  # type: ignore[arg-type]


def test_township_scope(driver: Driver, session: Session, people: People) -> None:
    case = driver.open()
    with pytest.raises(NotFound):
        driver.do(case, "start_review", actor=people.other_inspector)
    assert [r.id for r in list_cases(session, user=people.other_inspector)] == []
    assert [r.id for r in list_cases(session, user=people.inspector2)] == [case.id]
    assert [r.id for r in list_cases(session, user=people.reviewer)] == [case.id]
    with pytest.raises(NotFound):
        case_detail(session, user=people.other_inspector, case_id=case.id, district=driver.district)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        driver.open(town=people.other_town)  # an inspector cannot open a case in another township


def test_roles_lead_committee_system(driver: Driver, people: People) -> None:
    case = driver.open()
    for actor in (people.lead, people.committee, people.reviewer, people.admin, people.system):
        with pytest.raises(NotAllowed):
            driver.do(case, "start_review", actor=actor)
    driver.do(case, "start_review")
    driver.do(case, "order_rectification", failed=("R01",))
    with pytest.raises(NotAllowed):  # the system may only expire, and only after the deadline
        driver.do(case, "expire", actor=people.system)
    late = NOW + timedelta(days=60)
    with pytest.raises(NotAllowed):
        driver.do(case, "expire", actor=people.inspector, now=late)
    r = driver.do(case, "expire", actor=people.system, now=late)
    assert r.case.state == "overdue"
    with pytest.raises(NotAllowed):
        driver.do(case, "request_reinspection", actor=people.system, now=late)


def test_four_eyes_even_when_roles_change(driver: Driver, session: Session, people: People) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    driver.do(case, "propose_closure", actor=people.inspector)
    # the proposer is promoted to reviewer: still cannot decide on their own proposal
    people.inspector.role = "reviewer"
    session.add(people.inspector)
    session.commit()
    with pytest.raises(NotAllowed, match="four eyes"):
        driver.do(case, "approve", actor=people.inspector)
    assert driver.do(case, "approve", actor=people.reviewer).case.state == "closed"


def test_send_back_needs_reason_and_restores(driver: Driver, people: People) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    r = driver.do(case, "order_rectification", failed=("R01",))
    deadline = r.case.deadline
    driver.do(case, "propose_conversion", reason="申请转型", target="普惠性民办幼儿园")
    with pytest.raises(NotAllowed, match="reason"):
        driver.do(case, "send_back", actor=people.reviewer)
    r = driver.do(case, "send_back", actor=people.reviewer, reason="转型方案不完整")
    assert r.case.state == "rectifying" and r.case.deadline == deadline and r.case.proposer_id is None


def test_rounds_then_only_enforcement(driver: Driver, people: People) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    driver.do(case, "order_rectification", failed=("R01",))
    driver.do(case, "request_reinspection")
    r = driver.do(case, "fail_reinspection", failed=("R01",))
    assert r.case.round == 2 and r.notices[0].kind == "reinspection_opinion"
    driver.do(case, "request_reinspection")
    with pytest.raises(NotAllowed, match="propose_enforcement") as exc:
        driver.do(case, "fail_reinspection", failed=("R01",))
    assert "propose_enforcement" in (exc.value.allowed or [])
    driver.do(case, "propose_enforcement", reason="整改不到位")
    r = driver.do(case, "approve", actor=people.reviewer)
    assert r.case.state == "enforcement" and r.notices[0].kind == "suspension_order"
    [intent] = driver.do(case, "notify_intent", actor=people.reviewer, reason="整改不到位").notices
    deliver(session=driver.session, district=driver.district, number=intent.number, method="direct",
            served_on=NOW.date(), actor=people.inspector, now=NOW)
    r = driver.do(case, "confirm_ban", actor=people.reviewer2, now=NOW + timedelta(days=8))
    assert r.case.state == "banned" and r.notices[0].kind == "ban_decision"


def test_cutoff_guard_on_real_points(driver: Driver, people: People) -> None:
    cutoff = driver.district.district.cutoff
    late = driver.open(registered_on=cutoff + timedelta(days=1))
    driver.do(late, "start_review")
    with pytest.raises(NotAllowed, match="cut-off"):
        driver.do(late, "propose_filing")
    on_time = driver.open(registered_on=cutoff)
    driver.do(on_time, "start_review")
    assert driver.do(on_time, "propose_filing").case.state == "filing_proposed"


def test_major_hazard_suspends_and_informs_bureau(driver: Driver, session: Session, people: People) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    with pytest.raises(NotAllowed):
        driver.do(case, "suspend", major=("R01",))  # R01 cannot be a major hazard
    r = driver.do(case, "suspend", major=("F01",), reason="疏散通道堵塞")
    assert r.case.state == "enforcement"
    assert r.notices[0].kind == "suspension_order"
    inbox = session.exec(select(Message).where(Message.case_id == case.id, Message.channel == "inbox")).all()
    assert {m.user_id for m in inbox} >= {people.reviewer.id, people.reviewer2.id, people.lead.id}
    mail = session.exec(select(Message).where(Message.case_id == case.id, Message.channel == "mail")).all()
    assert {m.recipient for m in mail} >= {"rev@example.test", "lead@example.test"}


def test_reopen_filed(driver: Driver, people: People) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    driver.do(case, "propose_filing")
    driver.do(case, "approve", actor=people.reviewer)
    with pytest.raises(NotAllowed, match="reason"):
        driver.do(case, "reopen")
    r = driver.do(case, "reopen", reason="12345 接诉即办：家长投诉超员")
    assert r.case.state == "under_review" and r.case.round == 0


def test_notice_numbers_gap_free_per_kind_and_year(driver: Driver, session: Session, people: People) -> None:
    numbers = []
    for _ in range(3):
        case = driver.open()
        driver.do(case, "start_review")
        # a refused attempt in between must not consume a number
        with pytest.raises(InvalidInput):
            driver.do(case, "order_rectification", failed=("BAD",))
        numbers.append(driver.do(case, "order_rectification", failed=("R01",)).notices[0].number)
    y = NOW.year
    assert numbers == [f"武清教整〔{y}〕1号", f"武清教整〔{y}〕2号", f"武清教整〔{y}〕3号"]
    case = driver.open()
    driver.do(case, "start_review")
    next_year = NOW.replace(year=NOW.year + 1, month=1, day=5)
    r = driver.do(case, "order_rectification", failed=("R01",), now=next_year)
    assert r.notices[0].number == f"武清教整〔{y + 1}〕1号"
    case = driver.open()
    r = driver.do(case, "start_review")
    r = driver.do(case, "suspend", major=("F01",))
    assert r.notices[0].number == f"武清教停〔{y}〕1号"


def test_stale_version_is_a_conflict_and_writes_nothing(driver: Driver, session: Session) -> None:
    case = driver.open()
    v = case.version
    driver.do(case, "start_review", expected_version=v)
    before = _snapshot(session, case.id)  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        driver.do(case, "propose_closure", expected_version=v)
    assert _snapshot(session, case.id) == before  # type: ignore[arg-type]


def test_audit_chain_detects_tampering(driver: Driver, session: Session, engine: sa.Engine) -> None:
    a, b = driver.open(), driver.open()
    for c in (a, b):
        driver.do(c, "start_review")
        driver.do(c, "propose_closure")
    assert audit.verify(session) == []
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE case_event SET reason = 'forged' WHERE case_id = :c AND seq = 2"),
                     {"c": b.id})
    session.expire_all()
    breaks = audit.verify(session)
    assert [(x.case_id, x.seq) for x in breaks] == [(b.id, 2)]
    assert audit.verify(session, a.id) == []
    # deleting the last event is caught through the case's chain head
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM case_event WHERE case_id = :c AND seq = 3"), {"c": a.id})
    session.expire_all()
    assert {x.case_id for x in audit.verify(session)} == {a.id, b.id}


def test_case_detail_shows_allowed_for_the_viewer(driver: Driver, session: Session, people: People) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    d = case_detail(session, user=people.inspector, case_id=case.id, district=driver.district,  # type: ignore[arg-type]
                    today=date(2026, 11, 2))
    assert d["state_zh"] == "审查核查中"
    assert "order_rectification" in d["allowed"] and "propose_filing" in d["allowed"]
    assert [e["trigger"] for e in d["timeline"]] == ["open", "start_review"]
    d = case_detail(session, user=people.committee, case_id=case.id, district=driver.district)  # type: ignore[arg-type]
    assert d["allowed"] == []


def test_unknown_case_is_not_found(session: Session, driver: Driver, people: People) -> None:
    driver.open()
    with pytest.raises(NotFound):
        advance(session=session, district=driver.district, case_id=999999, actor=people.inspector,
                action=Action("start_review"))


def test_district_copies_rebuild_their_policy(district: District) -> None:
    from cases.config import Deadlines, Rounds

    assert district.policy() is district.policy()
    other = district.model_copy(update={"rounds": Rounds(max=4), "deadlines": Deadlines(calendar="calendar")})
    assert (other.policy().max_rounds, other.work_calendar().mode) == (4, "calendar")
    assert (district.policy().max_rounds, district.work_calendar().mode) == (2, "workdays")
