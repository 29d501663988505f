"""Adverse notices state the law from the district file and recite only what happened in their case."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cases.config import District
from cases.models import Notice
from cases.serving import deliver
from tests.conftest import Driver
from tests.notices.test_supervision_wording import notice_text, world  # noqa: F401  (world is a fixture)
from tests.scheduler.conftest import at

MON = date(2026, 11, 2)


def remedies_named(text: str, district: District) -> None:
    law = district.law
    assert f"六十日内依照{law.review_law}向{district.review_body}申请行政复议" in text
    assert f"六个月内依照{law.litigation_law}向{law.court}提起行政诉讼" in text
    assert "人民法院提起行政诉讼" not in text.replace(law.court + "提起", "")  # the court is named, never generic


def test_refusal_and_suspension_cite_party_facts_norms_and_remedies(world: tuple[Engine, District, Driver]) -> None:  # noqa: F811
    engine, district, driver = world
    people = driver.people
    refused = driver.open(now=at(MON, 8), name="阳光托幼点")
    driver.do(refused, "start_review", now=at(MON, 9))
    driver.do(refused, "propose_refusal", reason="场地消防条件不符合备案条件", failed=("F01",), now=at(MON, 10))
    [refusal] = driver.do(refused, "approve", actor=people.reviewer, now=at(MON, 11)).notices
    stopped = driver.open(now=at(MON, 8), name="彩虹托幼点")
    driver.do(stopped, "start_review", now=at(MON, 9))
    [order] = driver.do(stopped, "order_rectification", failed=("P02",), now=at(MON, 10)).notices
    deliver(session=driver.session, district=district, number=order.number, method="direct", served_on=MON,
            actor=people.inspector, now=at(MON, 15))
    [suspension] = driver.do(stopped, "suspend", major=("F01",), reason="疏散通道堵塞",
                             now=at(date(2026, 11, 4))).notices
    f01 = district.item("F01")
    assert f01 is not None
    for notice in (refusal, suspension):
        with Session(engine) as s:
            n = s.exec(select(Notice).where(Notice.number == notice.number)).one()
        text = notice_text(n, district)
        assert "当事人：张三" in text
        assert district.law.unregistered in text and f01.basis in text  # the norms violated
        remedies_named(text, district)
        assert n.data["law"]["court"] == district.law.court  # kept with the notice, as issued
    refusal_text = notice_text(refusal, district)
    assert "场地消防条件不符合备案条件" in refusal_text and "整改通知书" not in refusal_text
    if district.law.campaign_text:
        assert district.law.campaign_text in refusal_text
    suspension_text = notice_text(suspension, district)
    assert f"依据{district.law.empowering}的规定" in suspension_text
    assert f"整改通知书（{order.number}），该文书已于2026年11月2日直接送达" in suspension_text  # what really happened
    if district.district.bureau_short != "区教育局":
        assert "区教育局" not in refusal_text + suspension_text


def test_the_notice_of_intent_states_rights_and_the_window(world: tuple[Engine, District, Driver]) -> None:  # noqa: F811
    engine, district, driver = world
    case = driver.open(now=at(MON, 8))
    driver.do(case, "start_review", now=at(MON, 9))
    driver.do(case, "suspend", major=("F01",), now=at(MON, 10))
    [intent] = driver.do(case, "notify_intent", actor=driver.people.reviewer, reason="拒不停止办园",
                         now=at(MON, 11)).notices
    text = notice_text(intent, district)
    assert "拟对你单位作出如下行政处罚：责令停止办园" in text
    assert "有权进行陈述和申辩，有权要求举行听证" in text and "自本告知书送达之日起五个工作日内" in text
    assert district.law.procedure in text and district.law.empowering in text and "拒不停止办园" in text
    with Session(engine) as s:
        assert s.exec(select(Notice).where(col(Notice.kind) == "penalty_intent")).one().number == intent.number
