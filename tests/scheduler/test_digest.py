"""The bureau's queue comes as one daily digest, not one message per case; inspectors keep their own reminders."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from cases.config import District
from scheduler.sweeps import sweep
from tests.conftest import Driver, People
from tests.scheduler.conftest import at, messages, rectifying_case


def test_the_bureau_gets_one_digest_a_working_day(engine: sa.Engine, district: District, driver: Driver,
                                                  people: People) -> None:
    proposed = []
    for i in range(6):  # six proposals made on Monday 2 Nov: approval deadline Monday 9 Nov
        case = driver.open(name=f"待审批托幼点{i}", now=at(date(2026, 11, 2), 8))
        driver.do(case, "start_review", now=at(date(2026, 11, 2), 9))
        driver.do(case, "propose_filing", now=at(date(2026, 11, 2), 10))
        proposed.append(case.id)
    sweep(engine, district, at(date(2026, 11, 5)), deliver=False)  # Thursday: 2 working days left
    sweep(engine, district, at(date(2026, 11, 5), 15), deliver=False)  # again the same day: nothing new
    digests = messages(engine, "digest:", "inbox")
    assert sorted(m.recipient for m in digests) == sorted([people.reviewer.name, people.reviewer2.name])
    body = digests[0].body
    assert all(f"#{cid}" in body for cid in proposed) and "2026年11月9日" in body and "剩 2 个工作日" in body
    assert "6 件提议待审批" in digests[0].subject
    # no reminder per case for the bureau
    assert [m for m in messages(engine, "remind:", "inbox") if m.recipient.startswith("rev")] == []
    sweep(engine, district, at(date(2026, 11, 7)), deliver=False)  # Saturday: no digest
    assert len(messages(engine, "digest:", "inbox")) == 2
    sweep(engine, district, at(date(2026, 11, 10)), deliver=False)  # Tuesday: overdue, said so
    latest = [m for m in messages(engine, "digest:", "inbox") if m.recipient == people.reviewer.name][-1]
    assert "已逾期" in latest.subject and latest.body.count("已逾期 1 个工作日") == 6


def test_an_inspectors_reminder_goes_to_the_inspectors_of_the_township(engine: sa.Engine, district: District,
                                                                      driver: Driver, people: People) -> None:
    case = rectifying_case(driver, date(2026, 11, 20))
    sweep(engine, district, at(date(2026, 11, 19)), deliver=False)  # one working day left
    got = {m.recipient for m in messages(engine, "remind:", "inbox")}
    assert people.inspector.name in got
    assert people.other_inspector.name not in got and people.reviewer.name not in got
    [m] = [m for m in messages(engine, "remind:", "inbox") if m.recipient == people.inspector.name]
    assert m.case_id == case.id and "2026年11月20日" in m.subject and "2026-11-20" not in m.subject + m.body
