"""督办 in the web: level tiles open full lists whose length is the tile's number; filters by level, township and
state; the township lead answers from the case page (督办反馈)."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from app.web.pages.supervision import level_counts, supervised_page
from cases.config import District
from scheduler.sweeps import sweep
from tests.conftest import NOW, Driver, People
from tests.scheduler.conftest import fresh, rectifying_case


def _world(engine: sa.Engine, district: District, driver: Driver, people: People) -> dict[str, int]:
    old = rectifying_case(driver, date(2026, 10, 9), name="老逾期托幼点")  # 15 working days over by NOW
    new = rectifying_case(driver, date(2026, 10, 27), name="新逾期托幼点")  # 4 working days over
    other = rectifying_case(driver, date(2026, 10, 28), name="邻镇托幼点")
    from sqlmodel import col, update

    from cases.models import Case

    driver.session.exec(update(Case).where(col(Case.id) == other.id).values(township_id=people.other_town.id))  # type: ignore[call-overload]
    driver.session.commit()
    sweep(engine, district, NOW, deliver=False)
    assert {fresh(engine, c.id).escalation_level for c in (old, new, other)} == {3, 1}  # type: ignore[arg-type]
    return {"old": old.id, "new": new.id, "other": other.id}  # type: ignore[dict-item]


def _ids(html: str) -> set[int]:
    return {int(m) for m in re.findall(r'href="/cases/(\d+)" class="strong"', html)}


def test_tiles_link_to_lists_of_the_same_length(as_user, engine: sa.Engine, district: District,  # type: ignore[no-untyped-def]
                                                 driver: Driver, people: People) -> None:
    ids = _world(engine, district, driver, people)
    b = as_user(people.reviewer)
    dash = b.get("/dashboard").text
    for lv in (1, 2, 3):
        m = re.search(rf'href="/supervision\?level={lv}"><span class="num lvl{lv}">(\d+)</span>', dash)
        assert m, lv
        page = b.get(f"/supervision?level={lv}").text
        assert len(_ids(page)) == int(m.group(1)), lv
    assert _ids(b.get("/supervision?level=1").text) == {ids["new"], ids["other"]}
    assert _ids(b.get("/supervision?level=3").text) == {ids["old"]}
    assert _ids(b.get(f"/supervision?township={people.other_town.code}").text) == {ids["other"]}
    assert _ids(b.get("/supervision?state=overdue").text) == set(ids.values())
    assert _ids(b.get("/supervision?state=rectifying").text) == set()
    # "逾期未整改 N" opens a list of N
    m = re.search(r'href="/worklist\?tab=all&amp;state=overdue"><span class="num late">(\d+)</span>', dash)
    assert m and int(m.group(1)) == 3
    # the open notice and its reply date are shown
    assert "请于" in b.get("/supervision?level=1").text
    assert b.get("/supervision?state=filed").status_code == 400
    assert b.get("/supervision?level=7").status_code in (400, 422)


def test_the_committee_sees_the_district_and_the_lead_only_the_township(
        as_user, engine: sa.Engine, district: District, driver: Driver, people: People) -> None:  # type: ignore[no-untyped-def]
    ids = _world(engine, district, driver, people)
    assert _ids(as_user(people.committee).get("/supervision").text) == set(ids.values())
    lead = as_user(people.lead)
    assert _ids(lead.get("/supervision").text) == {ids["old"], ids["new"]}
    assert _ids(lead.get(f"/supervision?township={people.other_town.code}").text) == {ids["old"], ids["new"]}


def test_lists_are_paginated_and_counts_match(engine: sa.Engine, district: District, driver: Driver,
                                              people: People) -> None:
    _world(engine, district, driver, people)
    with Session(engine) as s:
        counts = level_counts(s, people.reviewer)
        assert counts == {1: 2, 2: 0, 3: 1}
        pages = [supervised_page(s, people.reviewer, district, level=None, township=None, state=None, page=p,
                                 today=NOW.date(), per_page=2) for p in (1, 2, 3)]
    assert [len(p.rows) for p in pages] == [2, 1, 1]  # page 3 is clamped to the last page
    assert pages[0].total == 3 and pages[0].pages == 2
    assert pages[0].rows[0].level == 3  # the highest level first
    assert {r.id for r in pages[0].rows + pages[1].rows} == {r.id for p in pages for r in p.rows}


def test_the_lead_answers_from_the_case_page(as_user, engine: sa.Engine, district: District,  # type: ignore[no-untyped-def]
                                             driver: Driver, people: People) -> None:
    ids = _world(engine, district, driver, people)
    b = as_user(people.lead)
    page = b.get(f"/cases/{ids['new']}").text
    assert "督办反馈" in page and 'value="report_progress"' in page
    version = fresh(engine, ids["new"]).version
    r = b.post(f"/cases/{ids['new']}/do", {"trigger": "report_progress", "expected_version": version,
                                          "reason": "已约谈举办者，限期三日内清理"})
    assert r.status_code == 303
    page = b.get(r.headers["location"]).text
    assert "已约谈举办者" in page
    assert fresh(engine, ids["new"]).state == "overdue"  # type: ignore[arg-type]
    assert "已反馈" in as_user(people.reviewer).get("/supervision?level=1").text
