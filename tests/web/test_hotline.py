"""The 12345 page and the designation form: taken in, answered, scoped, refused with the form kept."""

from __future__ import annotations

from sqlmodel import Session, select

from cases.models import Case, Complaint
from tests.conftest import Driver, People


def test_take_in_and_answer_a_complaint(as_user, people: People, driver: Driver, engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    me = as_user(people.inspector)
    page = me.get("/complaints")
    assert page.status_code == 200 and "受理工单" in page.text and "没有工单" in page.text
    r = me.post("/complaints", {"number": "GD-101", "case": f"#{case.id}", "summary": "家长反映超员"})
    assert r.status_code == 303 and r.headers["location"] == "/complaints?taken=GD-101"
    page = me.get(r.headers["location"])
    assert "工单 GD-101 已受理：并入在办案件" in page.text and "家长反映超员" in page.text
    # a refusal comes back on the page with what was typed, and writes nothing
    r = me.post("/complaints", {"number": "GD-101", "case": str(case.id), "summary": "再报"})
    assert r.status_code == 409 and "已于" in r.text and 'value="GD-101"' in r.text
    r = me.post("/complaints", {"number": "GD-102", "case": "abc"})
    assert r.status_code == 400 and "案件编号" in r.text
    r = me.post("/complaints", {"number": "GD-102", "case": "99999999999"})
    assert r.status_code == 404
    # another township sees nothing of it
    other = as_user(people.other_inspector)
    assert "GD-101" not in other.get("/complaints").text
    r = other.post("/complaints/GD-101/reply", {"text": "x"})
    assert r.status_code == 404
    r = me.post("/complaints/GD-101/reply", {"text": "已核查并责令整改"})
    assert r.status_code == 303 and r.headers["location"] == "/complaints?replied=GD-101"
    assert "工单 GD-101 已答复" in me.get(r.headers["location"]).text
    assert "GD-101" in me.get("/complaints?status=replied").text
    assert "GD-101" not in me.get("/complaints?status=open").text
    with Session(engine) as s:
        [c] = s.exec(select(Complaint)).all()
        assert (c.status, c.reply) == ("replied", "已核查并责令整改")
    # the committee reads the list but takes nothing in
    committee = as_user(people.committee)
    page = committee.get("/complaints")
    assert "GD-101" in page.text and "受理工单" not in page.text
    assert committee.post("/complaints", {"number": "GD-103", "case": str(case.id)}).status_code == 403


def test_lead_opens_a_designation_and_applies_on_the_case_page(as_user, people: People, engine) -> None:  # type: ignore[no-untyped-def]
    lead = as_user(people.lead)
    assert "发起小区配套园办园性质认定" in lead.get("/designation/new").text
    r = lead.post("/designation/new", {"name": " ", "township": people.town.code})
    assert r.status_code == 303 and r.headers["location"] == "/designation/new"  # post/redirect/get
    assert "名称" in lead.get("/designation/new").text
    r = lead.post("/designation/new",
                  {"name": "梅厂家园配套幼儿园", "township": people.town.code, "address": "梅厂家园"})
    assert r.status_code == 303
    case_url = r.headers["location"]
    with Session(engine) as s:
        case = s.exec(select(Case).where(Case.workflow == "designation")).one()
    assert case_url == f"/cases/{case.id}"
    page = lead.get(case_url)
    assert page.status_code == 200 and "镇街拟定中" in page.text and "镇街申请" in page.text
    assert '<select name="target" required>' in page.text and "普惠性民办园" in page.text
    assert "整改轮次" not in page.text and "立案日期" in page.text
    r = lead.post(case_url + "/do", {"trigger": "apply", "target": "公办园", "expected_version": case.version})
    assert r.status_code == 303
    page = lead.get(r.headers["location"])
    assert "已执行「镇街申请」" in page.text and "镇街已申请" in page.text and "办园性质" in page.text
    # the case is listed in its own words, its file opens, and the registry of childcare points leaves it out
    assert "镇街已申请" in lead.get("/worklist?tab=all").text
    point_page = lead.get(f"/points/{case.point_id}")
    assert point_page.status_code == 200 and "镇街已申请" in point_page.text
    assert "梅厂家园配套幼儿园" not in lead.get("/points").text
    assert as_user(people.inspector).get("/designation/new").status_code == 403
