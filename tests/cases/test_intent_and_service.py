"""No ban without the notice of intent, served and answered; service (送达) recorded with its receipt."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from cases import audit
from cases.config import District
from cases.errors import Conflict, InvalidInput, NotAllowed, NotFound
from cases.models import Case, CaseEvent, Message, Notice, NoticeService
from cases.queries import case_detail
from cases.serving import deliver, unserved_due
from tests.conftest import Driver, People

TZ = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), TZ).astimezone(UTC)


MON = date(2026, 11, 2)  # Monday; the next working days are 3, 4, 5, 6, 9, 10 …


def suspended(driver: Driver) -> Case:
    case = driver.open(now=at(MON, 8))
    driver.do(case, "start_review", now=at(MON, 9))
    driver.do(case, "suspend", major=("F01",), reason="疏散通道堵塞", now=at(MON, 10))
    return case


def intent(driver: Driver, case: Case, day: date = MON) -> Notice:
    result = driver.do(case, "notify_intent", actor=driver.people.reviewer, reason="拒不停止办园", now=at(day, 11))
    [n] = result.notices
    assert result.step.source == result.step.dest == "enforcement"
    return n


def serve(driver: Driver, number: str, on: date, method: str = "direct", now: date | None = None) -> object:
    return deliver(session=driver.session, district=driver.district, number=number, method=method, served_on=on,
                   actor=driver.people.inspector, now=at(now or on, 15))


def refused_by(driver: Driver, case: Case, day: date) -> str:
    with pytest.raises(NotAllowed) as exc:
        driver.do(case, "confirm_ban", actor=driver.people.reviewer2, now=at(day, 16))
    assert "confirm_ban" not in (exc.value.allowed or [])
    return exc.value.zh


def test_no_ban_without_a_served_notice_of_intent_and_the_time_to_be_heard(driver: Driver, people: People,
                                                                           session: Session) -> None:
    case = suspended(driver)
    assert "尚未发出行政处罚事先告知书" in refused_by(driver, case, MON)
    with pytest.raises(NotAllowed):  # the township's inspector does not issue the bureau's notice of intent
        driver.do(case, "notify_intent", reason="x", now=at(MON, 11))
    n = intent(driver, case)
    assert n.kind == "penalty_intent" and n.number.startswith("武清教罚告〔2026〕")
    with pytest.raises(NotAllowed, match="不能重复告知"):
        intent(driver, case)
    assert "尚未送达" in refused_by(driver, case, date(2026, 11, 20))
    serve(driver, n.number, date(2026, 11, 3), now=date(2026, 11, 3))
    # 5 working days from service on Tuesday 3rd: 4, 5, 6, 9, 10; the ban may follow from the 11th
    for day in (date(2026, 11, 3), date(2026, 11, 10)):
        assert "陈述、申辩和听证期限尚未届满" in refused_by(driver, case, day)
    detail = case_detail(session, user=people.reviewer2, case_id=case.id or 0, district=driver.district,
                         today=date(2026, 11, 11))
    assert "confirm_ban" in detail["allowed"]
    result = driver.do(case, "confirm_ban", actor=people.reviewer2, now=at(date(2026, 11, 11)))
    assert result.case.state == "banned"
    [ban] = result.notices
    assert ban.data["intent"]["intent_number"] == n.number
    assert ban.data["intent"]["intent_served_on"] == "2026-11-03"
    assert ban.data["intent"]["intent_window_end"] == "2026-11-10"
    ev = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.trigger == "confirm_ban")).one()
    assert ev.data["intent_window_end"] == "2026-11-10"  # the facts the guard judged are in the audit chain
    assert audit.verify(session) == []


def test_a_hearing_asked_for_must_be_held_before_the_ban(driver: Driver, people: People) -> None:
    case = suspended(driver)
    with pytest.raises(NotAllowed, match="尚未发出"):
        driver.do(case, "request_hearing", now=at(MON, 11))
    n = intent(driver, case)
    serve(driver, n.number, MON)
    with pytest.raises(NotAllowed, match="未申请听证"):
        driver.do(case, "record_hearing", actor=people.reviewer, reason="听证", now=at(date(2026, 11, 4)))
    driver.do(case, "record_statement", reason="举办者称已整改消防通道", now=at(date(2026, 11, 3)))
    driver.do(case, "request_hearing", reason="举办者书面申请听证", now=at(date(2026, 11, 4)))
    with pytest.raises(NotAllowed, match="已申请听证"):
        driver.do(case, "request_hearing", now=at(date(2026, 11, 5)))
    assert "须先组织听证并记录" in refused_by(driver, case, date(2026, 11, 30))
    with pytest.raises(NotAllowed, match="理由"):
        driver.do(case, "record_hearing", actor=people.reviewer, now=at(date(2026, 11, 16)))
    driver.do(case, "record_hearing", actor=people.reviewer, reason="2026年11月16日举行听证，当事人到场陈述",
              now=at(date(2026, 11, 16)))
    result = driver.do(case, "confirm_ban", actor=people.reviewer2, now=at(date(2026, 11, 17)))
    [ban] = result.notices
    assert ban.data["intent"]["hearing_held_on"] == "2026-11-16"
    assert ban.data["statements"] == ["当事人提出陈述、申辩意见：举办者称已整改消防通道"]


def test_a_hearing_cannot_be_asked_for_after_the_window(driver: Driver) -> None:
    case = suspended(driver)
    n = intent(driver, case)
    serve(driver, n.number, MON)
    with pytest.raises(NotAllowed, match="听证申请期限"):
        driver.do(case, "request_hearing", now=at(date(2026, 11, 10)))


def test_service_is_validated_and_recorded_once(driver: Driver, people: People, session: Session) -> None:
    case = driver.open(now=at(MON, 8))
    driver.do(case, "start_review", now=at(MON, 9))
    [order] = driver.do(case, "order_rectification", failed=("P02",), now=at(MON, 10)).notices
    before = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    with pytest.raises(NotFound):
        serve(driver, "武清教整〔2026〕999号", MON)
    with pytest.raises(InvalidInput, match="早于文书签发日期"):
        serve(driver, order.number, date(2026, 11, 1), now=MON)
    with pytest.raises(InvalidInput, match="晚于今天"):
        serve(driver, order.number, date(2026, 11, 4), now=date(2026, 11, 3))
    with pytest.raises(InvalidInput, match="送达方式"):
        serve(driver, order.number, MON, method="pigeon")
    with pytest.raises(NotFound):  # another township's inspector does not see the case
        deliver(session=session, district=driver.district, number=order.number, method="direct", served_on=MON,
                actor=people.other_inspector, now=at(MON, 15))
    assert session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all() == before
    assert session.exec(select(NoticeService)).all() == []
    c = session.get(Case, case.id)
    assert c is not None
    session.refresh(c)
    provisional = c.deadline
    assert provisional == driver.district.work_calendar().add(MON, 20)
    detail = case_detail(session, user=people.inspector, case_id=case.id or 0, district=driver.district, today=MON)
    assert detail["deadline_provisional"] is True
    assert detail["notices"][0]["needs_service"] and detail["notices"][0]["served"] is None
    served = serve(driver, order.number, date(2026, 11, 4), method="留置送达", now=date(2026, 11, 4))
    summary = served.summary()  # type: ignore[attr-defined]
    assert summary["method"] == "left" and summary["receipt"].startswith("武清教送〔2026〕")
    # 自送达之日起: the deadline now runs from the service date
    assert summary["deadline"] == driver.district.work_calendar().add(date(2026, 11, 4), 20).isoformat()
    session.refresh(c)
    assert c.deadline == date.fromisoformat(summary["deadline"]) and c.deadline_set_on == date(2026, 11, 4)
    detail = case_detail(session, user=people.inspector, case_id=case.id or 0, district=driver.district,
                         today=date(2026, 11, 4))
    assert detail["deadline_provisional"] is False
    assert detail["notices"][0]["served"]["method_zh"] == "留置送达"
    assert [e["trigger"] for e in detail["timeline"]][-1] == "serve"
    receipt = session.exec(select(Notice).where(Notice.kind == "service_receipt")).one()
    assert receipt.data["served_number"] == order.number and receipt.data["method_zh"] == "留置送达"
    with pytest.raises(Conflict, match="不能重复登记送达"):
        serve(driver, order.number, date(2026, 11, 4))
    with pytest.raises(InvalidInput, match="不需要送达"):
        serve(driver, receipt.number, date(2026, 11, 4))
    assert len(session.exec(select(NoticeService)).all()) == 1
    assert audit.verify(session) == []


def test_public_service_takes_effect_thirty_days_after_the_announcement(driver: Driver, session: Session) -> None:
    case = suspended(driver)
    n = intent(driver, case)
    summary = serve(driver, n.number, MON, method="public").summary()  # type: ignore[attr-defined]
    assert summary["served_on"] == "2026-12-02"
    assert "陈述、申辩和听证期限尚未届满" in refused_by(driver, case, date(2026, 12, 8))


def test_unserved_notices_come_due_for_a_reminder_once(driver: Driver, district: District, session: Session) -> None:
    case = driver.open(now=at(MON, 8))
    driver.do(case, "start_review", now=at(MON, 9))
    [order] = driver.do(case, "order_rectification", failed=("P02",), now=at(MON, 10)).notices
    assert district.service.remind_after_days == 3
    assert unserved_due(session, district, date(2026, 11, 4)) == []  # two working days old
    assert [n.number for n in unserved_due(session, district, date(2026, 11, 5))] == [order.number]
    serve(driver, order.number, date(2026, 11, 5))
    assert unserved_due(session, district, date(2026, 11, 6)) == []


def test_a_ban_recites_only_what_happened(driver: Driver, people: People, session: Session) -> None:
    case = suspended(driver)
    n = intent(driver, case)
    serve(driver, n.number, MON)
    [ban] = driver.do(case, "confirm_ban", actor=people.reviewer2, now=at(date(2026, 11, 10))).notices
    triggers = [h["trigger"] for h in ban.data["history"]]
    assert "order_rectification" not in triggers and triggers[-2:] == ["suspend", "notify_intent"]
    text = "".join(h["text"] for h in ban.data["history"])
    assert "整改通知书" not in text and "行政处罚事先告知书" in text and "已于2026年11月2日直接送达" in text
    law = ban.data["law"]
    assert law["empowering"] == "《幼儿园管理条例》第二十七条"
    assert (law["review_body"], law["court"]) == ("天津市武清区人民政府", "天津市武清区人民法院")
    assert [it["code"] for it in ban.data["items"]] == ["F01"]  # the facts found at the last inspection
    assert ban.data["evidence"][0].endswith("现场检查记录")
    assert session.exec(select(Notice).where(col(Notice.kind) == "ban_decision")).one().number == ban.number


def test_the_sweep_reminds_the_inspectors_of_an_unserved_notice_once(driver: Driver, district: District,
                                                                     people: People, engine: sa.Engine) -> None:
    from scheduler.sweeps import sweep

    case = driver.open(now=at(MON, 8))
    driver.do(case, "start_review", now=at(MON, 9))
    [order] = driver.do(case, "order_rectification", failed=("P02",), now=at(MON, 10)).notices
    assert sweep(engine, district, at(date(2026, 11, 4)), deliver=False).unserved_reminded == 0
    report = sweep(engine, district, at(date(2026, 11, 5)), deliver=False)
    assert report.unserved_reminded == 1
    with Session(engine) as s:
        msgs = s.exec(select(Message).where(col(Message.dedupe_key).startswith(f"unserved:{order.id}:inbox"))).all()
    assert {m.recipient for m in msgs} == {people.inspector.name, people.inspector2.name}
    assert order.number in msgs[0].subject and "尚未登记送达" in msgs[0].subject
    assert sweep(engine, district, at(date(2026, 11, 6)), deliver=False).unserved_reminded == 0
