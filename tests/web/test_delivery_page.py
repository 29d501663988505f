"""送达 from the case page: the phone-friendly form, its errors, and the provisional deadline."""

from __future__ import annotations

from sqlmodel import Session, select

from cases.models import NoticeService
from tests.conftest import Driver, People


def test_serve_a_notice_from_the_case_page(as_user, people: People, driver: Driver, engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    [order] = driver.do(case, "order_rectification", failed=("P02",)).notices
    b = as_user(people.inspector)
    page = b.get(f"/cases/{case.id}").text
    assert "尚未送达" in page and "暂按签发日计算" in page and f'action="/notices/{order.id}/deliver"' in page
    assert 'type="date" name="served_on"' in page and "留置送达" in page
    # a date before the issue is refused with the case page (at its own address), the error and what was typed
    r = b.post(f"/notices/{order.id}/deliver", {"method": "left", "served_on": "2026-10-01", "recipient": "张三"})
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}#deliver-{order.id}"
    shown = b.get(r.headers["location"]).text
    assert "早于文书签发日期" in shown and 'value="2026-10-01"' in shown
    r = b.post(f"/notices/{order.id}/deliver", {"method": "left", "served_on": "2026-11-03"})
    assert r.status_code == 303 and "晚于今天" in b.get(r.headers["location"]).text
    r = b.post(f"/notices/{order.id}/deliver", {"method": "left", "served_on": "2026-11-02", "recipient": "张三"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/cases/{case.id}?served=")
    page = b.get(r.headers["location"]).text
    assert "已登记送达，送达回证" in page and "留置送达，受送达人：张三" in page and "暂按签发日计算" not in page
    again = b.post(f"/notices/{order.id}/deliver", {"method": "direct", "served_on": "2026-11-02"})
    assert again.status_code == 303 and "不能重复登记送达" in b.get(again.headers["location"]).text
    # another township's inspector cannot serve (or see) it; without the CSRF token nothing happens
    other = as_user(people.other_inspector)
    form = {"method": "direct", "served_on": "2026-11-02"}
    assert other.post(f"/notices/{order.id}/deliver", form).status_code == 404
    assert b.client.post(f"/notices/{order.id}/deliver", data=form).status_code in (400, 403)
    with Session(engine) as s:
        assert len(s.exec(select(NoticeService)).all()) == 1
    committee = as_user(people.committee).get(f"/cases/{case.id}").text
    assert "登记送达并出具送达回证" not in committee


def test_the_case_page_shows_where_the_notice_of_intent_stands(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    driver.do(case, "suspend", major=("F01",))
    rev = as_user(people.reviewer)
    page = rev.get(f"/cases/{case.id}").text
    assert "尚未发出行政处罚事先告知书" in page and 'data-trigger="notify_intent"' in page
    assert 'data-trigger="confirm_ban"' not in page  # not offered before the notice of intent
    [intent] = driver.do(case, "notify_intent", actor=people.reviewer, reason="拒不停止办园").notices
    page = rev.get(f"/cases/{case.id}").text
    assert intent.number in page and "尚未送达" in page
    r = as_user(people.inspector).post(f"/notices/{intent.id}/deliver", {"method": "direct", "served_on": "2026-11-02"})
    assert r.status_code == 303
    page = rev.get(f"/cases/{case.id}").text
    assert "陈述、申辩和听证申请期限至 2026年11月9日" in page


def test_serve_through_the_json_api(client, engine, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_api import _auth

    case = driver.open()
    driver.do(case, "start_review")
    [order] = driver.do(case, "order_rectification", failed=("P02",)).notices
    url = f"/api/v1/notices/{order.id}/deliver"
    headers = _auth(engine, people.inspector)
    assert client.post(url, json={"method": "mail", "served_on": "20261102"}, headers=headers).status_code == 400
    r = client.post(url, json={"method": "mail", "served_on": "2026-11-02"}, headers=headers)
    assert r.status_code == 201 and r.json()["method_zh"] == "邮寄送达" and r.json()["receipt"]
    again = client.post(url, json={"method": "mail", "served_on": "2026-11-02"}, headers=headers)
    assert again.status_code == 409
    other = client.post(url, json={"method": "mail", "served_on": "2026-11-02"},
                        headers=_auth(engine, people.other_inspector))
    assert other.status_code == 404
