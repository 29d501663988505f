"""12345 接诉即办: a 工单 opens, reopens or joins a case through the service, chained, with its reply."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from cases import audit
from cases.complaints import add_complaint, list_complaints, reply_complaint
from cases.config import District
from cases.errors import Conflict, InvalidInput, NotAllowed, NotFound
from cases.models import Case, CaseEvent, Complaint
from tests.conftest import NOW, Driver, People

TODAY = date(2026, 11, 2)


def _file(driver: Driver, people: People) -> Case:
    case = driver.open()
    driver.do(case, "start_review")
    driver.do(case, "propose_filing")
    driver.do(case, "approve", actor=people.reviewer)
    return case


def _events(session: Session, case_id: int) -> list[CaseEvent]:
    return list(session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)).all())


def test_complaint_reopens_a_filed_point(driver: Driver, session: Session, district: District,
                                         people: People) -> None:
    case = _file(driver, people)
    added = add_complaint(session, district, actor=people.inspector, number="GD20261102001",
                          summary="家长反映超员", point_id=case.point_id, now=NOW)
    assert (added.outcome, added.case_id, added.state) == ("reopened", case.id, "under_review")
    # the reply is due after the configured working days (5): Monday 2 Nov → Monday 9 Nov
    assert added.reply_due == district.work_calendar().add(TODAY, district.deadlines.complaint_reply)
    assert added.reply_due == date(2026, 11, 9)
    last = _events(session, case.id)[-1]
    assert last.trigger == "reopen" and last.data["complaint"] == "GD20261102001"
    assert "GD20261102001" in last.reason and "超员" in last.reason
    assert audit.verify(session, case.id) == []


def test_complaint_joins_a_running_case_without_changing_it(driver: Driver, session: Session, district: District,
                                                            people: People) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    before = session.get(Case, case.id)
    session.refresh(before)
    state, deadline = before.state, before.deadline
    added = add_complaint(session, district, actor=people.inspector, number="GD-2", point_id=case.point_id, now=NOW)
    after = session.get(Case, case.id)
    session.refresh(after)
    assert added.outcome == "recorded"
    assert (after.state, after.deadline) == (state, deadline)
    ev = _events(session, case.id)[-1]
    assert (ev.trigger, ev.from_state, ev.to_state, ev.data["complaint"]) == ("receive_complaint", state, state, "GD-2")
    # the hotline's triggers are fired by their own commands, never offered on the case page
    from cases.queries import case_detail
    detail = case_detail(session, user=people.inspector, case_id=case.id, district=district, today=TODAY)
    assert "receive_complaint" not in detail["allowed"] and "reply_complaint" not in detail["allowed"]


def test_complaint_about_a_banned_point_opens_a_new_case(driver: Driver, session: Session, district: District,
                                                         people: People) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    driver.do(case, "propose_closure")
    driver.do(case, "approve", actor=people.reviewer)  # closed
    added = add_complaint(session, district, actor=people.inspector, number="GD-3", point_id=case.point_id, now=NOW)
    assert added.outcome == "opened" and added.case_id != case.id
    new = session.get(Case, added.case_id)
    assert new is not None and new.state == "registered"
    triggers = [e.trigger for e in _events(session, added.case_id)]
    assert triggers[0] == "open" and triggers[-1] == "receive_complaint"


def test_same_ticket_twice_is_refused_and_writes_nothing(driver: Driver, session: Session, district: District,
                                                         people: People) -> None:
    case = driver.open()
    add_complaint(session, district, actor=people.inspector, number="GD-4", point_id=case.point_id, now=NOW)
    n_events = len(_events(session, case.id))
    with pytest.raises(Conflict, match="已于"):
        add_complaint(session, district, actor=people.inspector, number="GD-4", point_id=case.point_id, now=NOW)
    assert len(_events(session, case.id)) == n_events
    assert len(session.exec(select(Complaint)).all()) == 1


@pytest.mark.parametrize("number", ["", "  ", "工单一", "GD 1", "x" * 65])
def test_bad_ticket_number(number: str, driver: Driver, session: Session, district: District,
                           people: People) -> None:
    case = driver.open()
    with pytest.raises(InvalidInput, match="工单号"):
        add_complaint(session, district, actor=people.inspector, number=number, point_id=case.point_id, now=NOW)


def test_complaint_scope_and_refusals_leave_nothing(driver: Driver, session: Session, district: District,
                                                   people: People) -> None:
    case = driver.open()
    with pytest.raises(NotFound):  # another township's point is simply not found
        add_complaint(session, district, actor=people.other_inspector, number="GD-5", point_id=case.point_id,
                      now=NOW)
    with pytest.raises(NotFound):
        add_complaint(session, district, actor=people.inspector, number="GD-5", point_id=999_999, now=NOW)
    with pytest.raises(NotAllowed):  # the committee does not take in complaints
        add_complaint(session, district, actor=people.committee, number="GD-5", point_id=case.point_id, now=NOW)
    with pytest.raises(InvalidInput, match="晚于今天"):
        add_complaint(session, district, actor=people.inspector, number="GD-5", point_id=case.point_id, now=NOW,
                      received_on=TODAY + timedelta(days=1))
    with pytest.raises(InvalidInput, match="--point"):
        add_complaint(session, district, actor=people.inspector, number="GD-5", now=NOW)
    assert session.exec(select(Complaint)).all() == []
    assert [e.trigger for e in _events(session, case.id)] == ["open"]


def test_reply_is_chained_and_listed(driver: Driver, session: Session, district: District, people: People,
                                     engine: sa.Engine) -> None:
    case = driver.open()
    add_complaint(session, district, actor=people.inspector, number="GD-6", point_id=case.point_id, now=NOW)
    add_complaint(session, district, actor=people.inspector, number="GD-7", point_id=case.point_id, now=NOW,
                  received_on=date(2026, 10, 20))
    rows = {r.number: r for r in list_complaints(session, district, user=people.reviewer, today=TODAY)}
    assert rows["GD-7"].overdue and rows["GD-7"].status_zh == "逾期未答复"
    assert not rows["GD-6"].overdue and rows["GD-6"].status_zh == "待答复"
    assert [r.number for r in list_complaints(session, district, user=people.reviewer, status="overdue",
                                              today=TODAY)] == ["GD-7"]
    assert list_complaints(session, district, user=people.other_inspector, today=TODAY) == []
    with pytest.raises(InvalidInput, match="答复内容"):
        reply_complaint(session, district, actor=people.inspector, number="GD-7", text="  ", now=NOW)
    row = reply_complaint(session, district, actor=people.inspector, number="GD-7", text="已现场核查并责令整改",
                          now=NOW)
    assert (row.status, row.replied_on, row.overdue) == ("replied", TODAY, False)
    ev = _events(session, case.id)[-1]
    assert ev.trigger == "reply_complaint" and ev.data["complaint"] == "GD-7"
    with pytest.raises(Conflict, match="已于"):
        reply_complaint(session, district, actor=people.inspector, number="GD-7", text="again", now=NOW)
    with pytest.raises(NotFound):
        reply_complaint(session, district, actor=people.other_inspector, number="GD-6", text="x", now=NOW)
    assert audit.verify(session, case.id) == []


def test_unknown_point_opens_a_case_and_a_second_ticket_finds_it(session: Session, district: District,
                                                                 people: People) -> None:
    first = add_complaint(session, district, actor=people.inspector, number="GD-8", name="小白兔看护点",
                          address="梅厂镇后屯村3号", township_code=people.town.code, summary="无证办园", now=NOW)
    assert first.outcome == "opened"
    case = session.get(Case, first.case_id)
    assert case is not None and case.registered_on == TODAY  # found today: after the cut-off, never filed
    # the same place typed a little differently is the same point (one file per point)
    second = add_complaint(session, district, actor=people.inspector, number="GD-9", name="小白兔看护点 ",
                           address="梅厂镇后屯村３号", township_code=people.town.code, now=NOW)
    assert (second.outcome, second.case_id) == ("recorded", first.case_id)
    assert [e.trigger for e in _events(session, first.case_id)] == ["open", "receive_complaint", "receive_complaint"]
    with pytest.raises(NotFound):
        add_complaint(session, district, actor=people.inspector, number="GD-10", name="x", address="y",
                      township_code="999", now=NOW)


def test_the_township_is_told_of_a_ticket_taken_in_for_it(driver: Driver, session: Session, district: District,
                                                          people: People) -> None:
    from cases.models import Message

    case = driver.open()
    add_complaint(session, district, actor=people.reviewer, number="GD-9", summary="夜间仍在收托",
                  point_id=case.point_id, now=NOW)
    inbox = session.exec(select(Message).where(Message.channel == "inbox",
                                               Message.dedupe_key.startswith("complaint:GD-9:"))).all()  # type: ignore[attr-defined]
    told = {m.user_id for m in inbox}
    assert told == {people.inspector.id, people.inspector2.id, people.lead.id}  # not another township's
    assert all("GD-9" in m.subject and "2026年11月9日前答复" in m.body and "夜间仍在收托" in m.body for m in inbox)
    # the inspector who takes one in is not told of it; a refused intake tells nobody
    add_complaint(session, district, actor=people.inspector, number="GD-10", point_id=case.point_id, now=NOW)
    assert people.inspector.id not in {m.user_id for m in session.exec(
        select(Message).where(Message.dedupe_key.startswith("complaint:GD-10:"))).all()}  # type: ignore[attr-defined]
    with pytest.raises(NotAllowed):
        add_complaint(session, district, actor=people.committee, number="GD-11", point_id=case.point_id, now=NOW)
    assert session.exec(select(Message).where(Message.dedupe_key.startswith("complaint:GD-11:"))).all() == []  # type: ignore[attr-defined]
