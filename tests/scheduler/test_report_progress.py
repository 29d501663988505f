"""Supervision is answered: 督办反馈 by the township lead or inspector, chained, answering the open notice;
a reply missing at its reply-by date is reminded and reported upward once (a message, not a notice)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from cases import audit
from cases.config import District
from cases.errors import NotAllowed, NotFound
from cases.models import Escalation, Notice
from scheduler.sweeps import sweep
from tests.conftest import Driver, People
from tests.scheduler.conftest import at, escalations, events, fresh, messages, rectifying_case

DEADLINE = date(2026, 11, 6)  # Friday
LEVEL1_DAY = date(2026, 11, 9)  # the first working day after: 镇街督办


def _supervised(driver: Driver, engine: sa.Engine, district: District):  # type: ignore[no-untyped-def]
    case = rectifying_case(driver, DEADLINE)
    sweep(engine, district, at(LEVEL1_DAY), deliver=False)
    [esc] = escalations(engine, case.id)
    assert esc.level == 1 and esc.notice_number
    return case, esc


def test_not_under_supervision_there_is_nothing_to_answer(driver: Driver, people: People) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    with pytest.raises(NotAllowed, match="未被督办") as exc:
        driver.do(case, "report_progress", actor=people.lead, reason="已整改")
    assert "report_progress" not in (exc.value.allowed or [])


def test_lead_reports_progress_answering_the_open_notice(engine: sa.Engine, district: District, driver: Driver,
                                                         people: People) -> None:
    case, esc = _supervised(driver, engine, district)
    before = fresh(engine, case.id)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed, match="理由"):
        driver.do(case, "report_progress", actor=people.lead, reason="  ", now=at(date(2026, 11, 10)))
    with pytest.raises(NotAllowed):  # the bureau does not answer the township's notice
        driver.do(case, "report_progress", actor=people.reviewer, reason="x", now=at(date(2026, 11, 10)))
    with pytest.raises(NotFound):  # another township does not even see it
        driver.do(case, "report_progress", actor=people.other_inspector, reason="x", now=at(date(2026, 11, 10)))
    r = driver.do(case, "report_progress", actor=people.lead, reason="已约谈举办者，消防通道已清理",
                  evidence=("a" * 64,), now=at(date(2026, 11, 10)))
    after = fresh(engine, case.id)  # type: ignore[arg-type]
    assert (after.state, after.deadline, after.escalation_level) == (before.state, before.deadline, 1)
    [ev] = events(engine, case.id, "report_progress")  # type: ignore[arg-type]
    assert ev.from_state == ev.to_state == "overdue" and ev.role == "lead"
    assert ev.data["answers"] == [esc.notice_number] and ev.evidence == ["a" * 64]
    assert r.event.hash == ev.hash
    [answered] = escalations(engine, case.id)
    assert answered.answered_event_id == ev.id
    with Session(engine) as s:
        assert audit.verify(s) == []
    told = [m for m in messages(engine, f"event:{case.id}:{ev.seq}:inbox")]
    assert {m.user_id for m in told} >= {people.reviewer.id, people.reviewer2.id}
    assert all("督办反馈" in m.subject and esc.notice_number in m.body for m in told)
    # answered: no late-reply chase, however long it waits
    report = sweep(engine, district, at(date(2026, 11, 30)), deliver=False, ladder=True)
    assert report.replies_chased == 0 and not messages(engine, "reply-missing")


def test_a_missing_reply_is_reminded_and_reported_upward_once(engine: sa.Engine, district: District,
                                                              driver: Driver, people: People) -> None:
    case, esc = _supervised(driver, engine, district)
    with Session(engine) as s:
        notice = s.exec(select(Notice).where(Notice.number == esc.notice_number)).one()
    reply_by = date.fromisoformat(notice.data["reply_by"]) if notice.data.get("reply_by") else \
        district.work_calendar().add(LEVEL1_DAY, 5)
    assert sweep(engine, district, at(reply_by, 16), deliver=False).replies_chased == 0  # due that day: not late
    with Session(engine) as s:  # closed at once: an open transaction would hold the schema the fixture drops
        notices_before = len(list(s.exec(select(Notice)).all()))
    after = district.work_calendar().add(reply_by, 1)
    first = sweep(engine, district, at(after), deliver=False)
    second = sweep(engine, district, at(after, 15), deliver=False)
    assert (first.replies_chased, second.replies_chased) == (1, 0)
    town = [m for m in messages(engine, "reply-missing:", "inbox")]
    up = [m for m in messages(engine, "reply-missing-up:", "inbox")]
    assert {m.user_id for m in town} == {people.lead.id, people.inspector.id, people.inspector2.id}
    assert {m.user_id for m in up} == {people.reviewer.id, people.reviewer2.id}  # level 1 → the bureau
    assert esc.notice_number in up[0].body and "未收到督办反馈" in up[0].body
    with Session(engine) as s:
        assert len(list(s.exec(select(Notice)).all())) == notices_before  # a message, not a new notice
        row = s.get(Escalation, esc.id)
        assert row is not None and row.reply_reported_on == after
    # a later reply still answers it (and the level-2 notice the ladder has issued meanwhile)
    driver.do(case, "report_progress", actor=people.inspector, reason="整改完成，申请复查", now=at(after, 16))
    taken = [e for e in escalations(engine, case.id) if not e.passed]
    assert taken and all(e.answered_event_id is not None for e in taken)


def test_catch_up_passed_rungs_await_no_reply(engine: sa.Engine, district: District, driver: Driver,
                                              people: People) -> None:
    case = rectifying_case(driver, DEADLINE)
    sweep(engine, district, at(date(2026, 11, 24)), deliver=False)  # down: level 3 taken, 1 and 2 passed
    driver.do(case, "report_progress", actor=people.lead, reason="已责令停止招生", now=at(date(2026, 11, 25)))
    [ev] = events(engine, case.id, "report_progress")  # type: ignore[arg-type]
    [top] = [e for e in escalations(engine, case.id) if not e.passed]
    assert ev.data["answers"] == [top.notice_number]
    told = messages(engine, f"event:{case.id}:{ev.seq}:inbox")
    assert people.committee.id in {m.user_id for m in told}  # 挂牌督办 was the committee's: it hears the reply
