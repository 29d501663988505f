"""The second workflow's deadlines enforce themselves too: reminders to whoever decides, a late approval climbs."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from cases.config import District
from cases.service import Action, advance, open_case
from scheduler.sweeps import sweep
from tests.conftest import People
from tests.scheduler.conftest import at, escalations, fresh, messages, notices, reminders


def _applied(session: Session, district: District, people: People, day: date) -> int:
    case = open_case(session=session, district=district, actor=people.lead, name="梅厂家园配套幼儿园",
                     township_code=people.town.code, address="", operator="", source="estate",
                     workflow="designation", now=at(day, 8))
    advance(session=session, district=district, case_id=case.id, actor=people.lead,
            action=Action(trigger="apply", target="公办园"), now=at(day, 9))
    return case.id  # type: ignore[return-value]


def test_reminders_go_to_the_bureau_then_to_the_committee(engine: sa.Engine, session: Session, district: District,
                                                          people: People) -> None:
    case_id = _applied(session, district, people, date(2026, 11, 2))  # approval deadline Mon 9 Nov
    c = fresh(engine, case_id)
    assert (c.state, c.deadline, c.deadline_kind) == ("applied", date(2026, 11, 9), "approval")
    sweep(engine, district, at(date(2026, 11, 6)), deliver=False)  # Friday: 1 working day left
    [r] = reminders(engine, case_id)
    assert r.days_before == 1
    # the deciders' reminder comes in their daily digest of the queue (cases.digest), not one message per case
    assert {m.recipient for m in messages(engine, "digest:", "inbox")} == {people.reviewer.name, people.reviewer2.name}
    assert messages(engine, "remind:", "inbox") == []
    advance(session=session, district=district, case_id=case_id, actor=people.reviewer,
            action=Action(trigger="review"), now=at(date(2026, 11, 9)))
    sweep(engine, district, at(date(2026, 11, 13)), deliver=False)  # new deadline Mon 16 Nov, 1 day left
    committee = [m for m in messages(engine, "digest:", "inbox") if m.recipient == people.committee.name]
    assert len(committee) == 1 and "区教育局已审核" in committee[0].body


def test_a_late_bureau_review_escalates_to_the_committee(engine: sa.Engine, session: Session, district: District,
                                                         people: People) -> None:
    case_id = _applied(session, district, people, date(2026, 11, 2))
    report = sweep(engine, district, at(date(2026, 11, 10)), deliver=False)
    assert report.approvals_escalated == 1
    [esc] = escalations(engine, case_id)
    assert (esc.kind, esc.level) == ("approval", 3)
    [n] = notices(engine, case_id)
    assert (n.issuer, n.addressee) == (district.district.committee, district.district.bureau)
    assert sweep(engine, district, at(date(2026, 11, 11)), deliver=False).approvals_escalated == 0
