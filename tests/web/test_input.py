"""Bad input through the web pages and the JSON API: 400/404 with a bilingual message, never a 500.

Every test runs on SQLite and on PostgreSQL (ids beyond INTEGER and NUL characters used to be
500s on PostgreSQL only).
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from cases.models import CaseEvent, Point, User
from cases.users import issue_token
from tests.conftest import Driver, People


def _auth(engine, user: User) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        row = s.get(User, user.id)
        assert row is not None
        return {"Authorization": f"Bearer {issue_token(s, row)}"}


def _error(r) -> dict:  # type: ignore[no-untyped-def]
    body = r.json()
    assert set(body) == {"error"}, body
    return body["error"]


def _count(engine, model: type) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_ids_beyond_the_integer_range(client: TestClient, engine, people: People) -> None:  # type: ignore[no-untyped-def]
    h = _auth(engine, people.reviewer)
    for big in (2**31, 9_999_999_999, 2**62):
        for url in (f"/api/v1/cases/{big}", f"/api/v1/cases/{big}/evidence", f"/api/v1/notices/{big}",
                    f"/api/v1/notices?case={big}"):
            r = client.get(url, headers=h)
            assert r.status_code == 404, (url, r.status_code, r.text)
        r = client.post(f"/api/v1/cases/{big}/do", headers=h, json={"trigger": "start_review"})
        assert r.status_code == 404
        assert client.post(f"/api/v1/inbox/{big}/read", headers=h).json() == {"marked": 0}
    assert client.get(f"/api/v1/cases/{2**62 + 1}", headers=h).status_code == 400


def test_searching_for_a_phone_number(client: TestClient, engine, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open(name="电话托幼点")
    h = _auth(engine, people.inspector)
    r = client.get("/api/v1/cases?q=13812345678", headers=h)
    assert r.status_code == 200 and r.json()["total"] == 0
    assert client.get(f"/api/v1/cases?q=%23{case.id}", headers=h).json()["items"][0]["id"] == case.id
    assert client.get(f"/api/v1/cases?q={case.id}", headers=h).json()["items"][0]["id"] == case.id
    assert client.get("/api/v1/points?q=13812345678", headers=h).status_code == 200


def test_nul_characters_are_400(client: TestClient, engine, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    h = _auth(engine, people.inspector)
    for url in ("/api/v1/cases?q=a%00b", "/api/v1/points?q=%00"):
        r = client.get(url, headers=h)
        assert r.status_code == 400 and "控制字符" in _error(r)["zh"]
    r = client.post("/api/v1/points", headers=h, json={"name": "园\u0000", "township": people.town.code,
                                                       "address": "某地", "operator": "某人"})
    assert r.status_code == 400 and "控制字符" in _error(r)["zh"]
    r = client.post(f"/api/v1/cases/{case.id}/do", headers=h, json={"trigger": "start_review",
                                                                     "reason": "a\u0000"})
    assert r.status_code == 400
    r = client.post(f"/api/v1/cases/{case.id}/do", headers={**h, "Content-Type": "application/json"},
                    content=b'{"trigger": "start_review", "reason": "\\ud800"}')  # a lone surrogate
    assert r.status_code == 400
    assert _count(engine, Point) == 1


def test_point_bodies_follow_the_policy(client: TestClient, engine, people: People) -> None:  # type: ignore[no-untyped-def]
    h = _auth(engine, people.inspector)
    base = {"name": "接口托幼点", "township": people.town.code, "address": "某村3号", "operator": "王五"}
    for bad in ({"registered_on": "20220101"}, {"registered_on": 1640995200}, {"registered_on": "0001-01-01"},
                {"name": "\u200b"}, {"name": "园" * 201}, {"extra": 1}):
        r = client.post("/api/v1/points", headers=h, json={**base, **bad})
        assert r.status_code == 400, (bad, r.text)
        err = _error(r)
        assert err["zh"] and err["en"]
    r = client.post("/api/v1/points", headers=h, json={**base, "name": "园" * 201})
    assert "托幼点名称过长" in _error(r)["zh"] and "200" in _error(r)["zh"]
    assert _count(engine, Point) == 0
    r = client.post("/api/v1/points", headers=h, json={**base, "registered_on": "2022-01-01", "basis": "原备案台账"})
    assert r.status_code == 201


def test_action_bodies_follow_the_policy(client: TestClient, engine, people: People, driver: Driver,
                                         district) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    h = _auth(engine, people.inspector)
    url = f"/api/v1/cases/{case.id}/do"
    code = district.checklist[0].code
    events = _count(engine, CaseEvent)
    for bad in ({"notes": {code: "x" * 20_000}}, {"notes": {"ZZZ": "x"}}, {"notes": {f"k{i}": "x" for i in range(200)}},
                {"reason": "理" * 2503}, {"whatever": True}):
        r = client.post(url, headers=h, json={"trigger": "order_rectification", "failed": [code], **bad})
        assert r.status_code == 400, (list(bad), r.text)
    r = client.post(url, headers=h, json={"trigger": "propose_refusal", "failed": [code], "reason": "\u200b\u200b"})
    assert r.status_code == 403 and "理由" in _error(r)["zh"]
    assert _count(engine, CaseEvent) == events


def test_the_web_form_refuses_a_long_reason_instead_of_cutting_it(as_user, people: People, driver: Driver,
                                                                 engine, district) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    b = as_user(people.inspector)
    reason = "理" * 2503
    events = _count(engine, CaseEvent)
    marks = {f"item_{i.code}": "pass" for i in district.checklist} | {f"item_{district.checklist[0].code}": "fail"}
    r = b.post(f"/cases/{case.id}/do", {"trigger": "propose_refusal", **marks, "reason": reason})
    assert r.status_code == 303  # shown again at the case page's own address (post/redirect/get)
    page = b.get(r.headers["location"]).text
    assert "2503" in page and "2000" in page
    assert reason in page  # what was typed comes back to be shortened, not lost
    # and the browser does not cut a pasted text short either: the server's limit is the one that speaks
    assert 'maxlength="2000"' not in page and 'maxlength="500"' not in page
    assert _count(engine, CaseEvent) == events


def test_the_registration_form_keeps_what_was_typed(as_user, people: People, engine) -> None:  # type: ignore[no-untyped-def]
    b = as_user(people.inspector)
    form = {"name": "表单托幼点", "township": people.town.code, "address": "某村", "operator": "某人",
            "registered_on": "20220101"}
    r = b.post("/points", form)
    assert r.status_code == 303
    page = b.get(r.headers["location"]).text
    assert "YYYY-MM-DD" in page and "表单托幼点" in page
    r = b.post("/points", {**form, "registered_on": "2022-01-01", "address": "地" * 301})
    assert r.status_code == 303 and "地址过长" in b.get(r.headers["location"]).text
    assert _count(engine, Point) == 0


def test_worklist_search_for_a_phone_number_or_nul(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    driver.open()
    b = as_user(people.inspector)
    assert b.get("/worklist?q=13812345678").status_code == 200
    assert b.get("/points?q=13812345678").status_code == 200
    assert b.get("/worklist?q=%00").status_code == 400
    assert b.get(f"/cases/{2**40}").status_code == 404


def test_a_notice_404_does_not_name_its_case(client: TestClient, engine, people: People, driver: Driver,
                                            district) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    result = driver.do(case, "order_rectification", failed=(district.checklist[0].code,))
    notice_id = result.notices[0].id
    r = client.get(f"/api/v1/notices/{notice_id}", headers=_auth(engine, people.other_inspector))
    assert r.status_code == 404
    err = _error(r)
    assert f"文书 {notice_id} 不存在" == err["zh"]
    assert "案件" not in err["zh"] and "case" not in err["en"]


def test_the_service_form_follows_the_policy(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    [order] = driver.do(case, "order_rectification", failed=("P02",)).notices
    b = as_user(people.inspector)
    r = b.post(f"/notices/{order.id}/deliver", {"method": "left", "served_on": "20261102", "recipient": "张三"})
    assert r.status_code == 303 and "YYYY-MM-DD" in b.get(r.headers["location"]).text
    r = b.post(f"/notices/{order.id}/deliver", {"method": "left", "served_on": "2026-11-02", "recipient": "张\x00三"})
    assert r.status_code == 303 and "控制字符" in b.get(r.headers["location"]).text
    assert b.post(f"/notices/{2**40}/deliver", {"method": "left", "served_on": "2026-11-02"}).status_code == 404
    other = as_user(people.other_inspector)
    r = other.post(f"/notices/{order.id}/deliver", {"method": "left", "served_on": "2026-11-02"})
    assert r.status_code == 404 and f"案件 {case.id}" not in r.text
