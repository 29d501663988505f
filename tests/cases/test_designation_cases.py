"""The 小区配套园办园性质认定 workflow as real cases: same service, chain, deadlines and notices."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from cases import audit
from cases.config import District
from cases.errors import InvalidInput, NotAllowed
from cases.indicators import save_stat
from cases.models import Case, CaseEvent, Notice, Point
from cases.service import Action, advance, open_case
from tests.conftest import NOW, People

TODAY = date(2026, 11, 2)


def _open(session: Session, district: District, people: People, name: str = "梅厂家园配套幼儿园") -> Case:
    case = open_case(session=session, district=district, actor=people.lead, name=name, township_code=people.town.code,
                     address="梅厂家园小区", operator="", source="estate", workflow="designation", now=NOW)
    return session.get(Case, case.id)  # type: ignore[return-value]


def _do(session: Session, district: District, case: Case, trigger: str, actor: object, **kw: object) -> object:
    return advance(session=session, district=district, case_id=case.id, actor=actor,  # type: ignore[arg-type]
                   action=Action(trigger=trigger, **kw), now=NOW)  # type: ignore[arg-type]


def _figures(session: Session, people: People, public: int, enrolled: int = 1000, year: int = 2025) -> None:
    save_stat(session, actor=people.reviewer, today=TODAY, fields={
        "township": people.town.code, "year": str(year), "population": "1100", "enrolled": str(enrolled),
        "public": str(public), "inclusive_private": "0"})


def test_opened_under_its_declaration_and_not_a_childcare_point(session: Session, district: District,
                                                                people: People) -> None:
    case = _open(session, district, people)
    assert (case.workflow, case.workflow_version, case.state) == ("designation", 1, "drafted")
    point = session.get(Point, case.point_id)
    assert point is not None and point.kind == "estate_kindergarten" and point.source == "estate"
    with pytest.raises(NotAllowed, match="小区配套园办园性质认定"):  # inspectors register points, leads apply
        open_case(session=session, district=district, actor=people.inspector, name="x", township_code=people.town.code,
                  address="", operator="", workflow="designation", now=NOW)
    with pytest.raises(InvalidInput, match="没有名为"):
        open_case(session=session, district=district, actor=people.lead, name="x", township_code=people.town.code,
                  address="", operator="", workflow="no_such_flow", now=NOW)


def test_public_kindergarten_path_issues_the_committee_reply(session: Session, district: District,
                                                              people: People) -> None:
    case = _open(session, district, people)
    with pytest.raises(NotAllowed, match="办园性质"):
        _do(session, district, case, "apply", people.lead, target="民办园")
    r = _do(session, district, case, "apply", people.lead, target="公办园")  # no figures needed for 公办园
    assert r.case.state == "applied" and r.case.deadline == district.work_calendar().add(TODAY, 5)  # type: ignore[attr-defined]
    _do(session, district, case, "review", people.reviewer)
    with pytest.raises(NotAllowed):  # only the committee approves
        _do(session, district, case, "approve", people.reviewer2)
    r = _do(session, district, case, "approve", people.committee)
    assert r.case.state == "designated"  # type: ignore[attr-defined]
    notice = session.exec(select(Notice).where(Notice.case_id == case.id)).one()
    assert notice.kind == "designation_approval"
    assert notice.issuer == district.district.committee
    assert notice.addressee == district.township(people.town.code).unit  # type: ignore[union-attr]
    assert notice.number.startswith(district.notices.prefixes["designation_approval"])
    session.expire_all()
    assert audit.verify(session, case.id) == []


def test_inclusive_private_needs_the_figures(session: Session, district: District, people: People) -> None:
    case = _open(session, district, people)
    with pytest.raises(InvalidInput, match="公办园在园幼儿占比"):
        _do(session, district, case, "apply", people.lead, target="普惠性民办园")
    assert session.get(Case, case.id).state == "drafted"  # type: ignore[union-attr]
    _figures(session, people, public=450)  # 45.0% < 50%
    with pytest.raises(NotAllowed, match="不足50%"):
        _do(session, district, case, "apply", people.lead, target="普惠性民办园")
    _figures(session, people, public=520, year=2026)  # the newest year counts: 52.0%
    r = _do(session, district, case, "apply", people.lead, target="普惠性民办园")
    ev = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.trigger == "apply")).one()
    assert ev.data["public_share_year"] == 2026 and ev.data["public_share_percent"] == 52.0
    assert r.case.state == "applied"  # type: ignore[attr-defined]
    _do(session, district, case, "review", people.reviewer)
    _figures(session, people, public=400, year=2026)  # revised down before the committee decides
    with pytest.raises(NotAllowed, match="不足50%"):
        _do(session, district, case, "approve", people.committee)
    r = _do(session, district, case, "send_back", people.committee, reason="公办园占比已不足50%，请改按公办园申请")
    assert r.case.state == "applied"  # type: ignore[attr-defined]


def test_a_case_keeps_the_declaration_it_was_opened_under(session: Session, district: District, people: People,
                                                          engine: sa.Engine) -> None:
    case = _open(session, district, people)
    with engine.begin() as conn:
        conn.execute(sa.text('update "case" set workflow_version = 99 where id = :id'), {"id": case.id})
    with pytest.raises(InvalidInput, match="第 99 版未定义"):
        _do(session, district, case, "apply", people.lead, target="公办园")
