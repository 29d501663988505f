"""The JSON API under /api/v1: bearer tokens, scoping, the one error mapping, and the contract of `case do`."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlmodel import Session

from cases.models import User
from cases.users import issue_token
from tests.conftest import Driver, People
from tests.web.test_evidence import jpeg


def _auth(engine, user: User) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        row = s.get(User, user.id)
        assert row is not None
        return {"Authorization": f"Bearer {issue_token(s, row)}"}


def _error(r) -> dict:  # type: ignore[no-untyped-def]
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"zh", "en", "allowed"}
    return body["error"]


def test_tokens_are_required(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = client.get("/api/v1/cases", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "tuoyou user token" in _error(r)["zh"]


def test_cases_are_scoped(client: TestClient, engine, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    mine = driver.open(name="本镇")
    theirs = driver.open(name="外镇", town=people.other_town, actor=people.other_inspector)
    h = _auth(engine, people.inspector)
    r = client.get("/api/v1/cases", headers=h)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1 and body["items"][0]["id"] == mine.id
    assert client.get(f"/api/v1/cases/{mine.id}", headers=h).json()["state"] == "registered"
    r = client.get(f"/api/v1/cases/{theirs.id}", headers=h)
    assert r.status_code == 404
    assert "不在您的辖区" in _error(r)["zh"]
    assert client.get("/api/v1/cases", headers=_auth(engine, people.reviewer)).json()["total"] == 2


def test_do_and_its_errors(client: TestClient, engine, people: People, driver: Driver, district) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    h = _auth(engine, people.inspector)
    url = f"/api/v1/cases/{case.id}/do"
    r = client.post(url, json={"trigger": "start_review", "expected_version": case.version}, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["from"] == "registered" and out["to"] == "under_review" and out["state_zh"] == "审查核查中"
    version = out["version"]
    # 403: a guard refuses, naming what is allowed now
    r = client.post(url, json={"trigger": "order_rectification"}, headers=h)
    assert r.status_code == 403
    err = _error(r)
    assert "order_rectification" in err["allowed"] and err["en"]
    # 400: no such trigger / unknown item / malformed body
    assert client.post(url, json={"trigger": "fly"}, headers=h).status_code == 400
    r = client.post(url, json={"trigger": "order_rectification", "failed": ["nope"]}, headers=h)
    assert r.status_code == 400 and "检查项目编码不存在" in _error(r)["zh"]
    r = client.post(url, json={"trigger": "start_review", "bogus": 1}, headers=h)
    assert r.status_code == 400 and _error(r)["zh"].startswith("输入有误")
    # 409: stale version
    r = client.post(url, json={"trigger": "order_rectification", "failed": [district.checklist[0].code],
                               "expected_version": version - 1}, headers=h)
    assert r.status_code == 409
    # 403: role
    r = client.post(url, json={"trigger": "propose_filing"}, headers=_auth(engine, people.reviewer))
    assert r.status_code == 403
    r = client.post(url, json={"trigger": "order_rectification", "failed": [district.checklist[0].code],
                               "notes": {district.checklist[0].code: "通道堵塞"}, "expected_version": version},
                    headers=h)
    assert r.status_code == 200 and r.json()["notices"]


def test_points_notices_inbox_and_evidence(client: TestClient, engine, people: People, driver: Driver,
                                            district) -> None:  # type: ignore[no-untyped-def]
    h = _auth(engine, people.inspector)
    r = client.post("/api/v1/points", headers=h, json={
        "name": "接口登记托幼点", "township": people.town.code, "address": "某村3号", "operator": "王五"})
    assert r.status_code == 201
    case_id = r.json()["case_id"]
    r = client.post("/api/v1/points", headers=h, json={
        "name": "越界", "township": people.other_town.code, "address": "x", "operator": "y"})
    assert r.status_code == 404
    assert client.get("/api/v1/points?q=接口登记", headers=h).json()["total"] == 1
    # evidence through the API, then used in an action
    photo = jpeg("orange")
    r = client.post(f"/api/v1/cases/{case_id}/evidence", headers=h, files={"file": ("p.jpg", photo, "image/jpeg")})
    assert r.status_code == 201 and r.json()["sha256"] == hashlib.sha256(photo).hexdigest()
    r = client.post(f"/api/v1/cases/{case_id}/evidence", headers=h, files={"file": ("p.jpg", b"<svg/>", "image/jpeg")})
    assert r.status_code == 400
    sha = hashlib.sha256(photo).hexdigest()
    client.post(f"/api/v1/cases/{case_id}/do", headers=h, json={"trigger": "start_review"})
    r = client.post(f"/api/v1/cases/{case_id}/do", headers=h, json={"trigger": "order_rectification",
                                                                     "failed": [district.checklist[0].code],
                                                                     "evidence": [sha]})
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/cases/{case_id}", headers=h).json()["timeline"][-1]["evidence"] == [sha]
    r = client.post(f"/api/v1/cases/{case_id}/do", headers=h,
                    json={"trigger": "propose_closure", "evidence": ["0" * 64]})
    assert r.status_code == 400
    notices = client.get(f"/api/v1/notices?case={case_id}", headers=h).json()
    assert len(notices) == 1 and notices[0]["title"] == "整改通知书"
    assert client.get(f"/api/v1/notices/{notices[0]['id']}", headers=h).json()["data"]["case_id"] == case_id
    other = _auth(engine, people.other_inspector)
    assert client.get(f"/api/v1/notices/{notices[0]['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/notices", headers=other).json() == []
    # the inbox of the township's lead? decisions go to inspectors; proposals to reviewers
    client.post(f"/api/v1/cases/{case_id}/do", headers=h, json={"trigger": "propose_closure", "reason": "已停办"})
    rh = _auth(engine, people.reviewer)
    inbox = client.get("/api/v1/inbox?unread=true", headers=rh).json()
    assert inbox["total"] >= 1
    mid = inbox["items"][0]["id"]
    assert client.post(f"/api/v1/inbox/{mid}/read", headers=rh).json() == {"marked": 1}
    assert client.post(f"/api/v1/inbox/{mid}/read", headers=h).json() == {"marked": 0}
    assert client.get("/api/v1/me", headers=h).json()["township"] == people.town.code


def test_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/cases/{case_id}/do" in spec["paths"]
    assert not any(p.startswith("/cases") for p in spec["paths"])  # pages are not part of the API
    assert client.get("/docs").status_code == 404  # Swagger UI needs a CDN: off


def test_point_registration_rules_through_the_api(client: TestClient, engine, people: People) -> None:  # type: ignore[no-untyped-def]
    h = _auth(engine, people.inspector)
    body = {"name": "接口托幼点", "township": people.town.code, "address": "某村9号", "operator": "赵六",
            "registered_on": "2023-01-05"}
    r = client.post("/api/v1/points", headers=h, json=body)
    assert r.status_code == 400 and "basis" in r.json()["error"]["en"]
    r = client.post("/api/v1/points", headers=h, json={**body, "registered_on": "20230105", "basis": "台账"})
    assert r.status_code in (400, 422)
    r = client.post("/api/v1/points", headers=h, json={**body, "basis": "原备案台账第9号"})
    assert r.status_code == 201
    first = r.json()["case_id"]
    r = client.post("/api/v1/points", headers=h, json={**body, "basis": "原备案台账第9号"})
    assert r.status_code == 409 and f"#{first}" in r.json()["error"]["zh"]
    r = client.post("/api/v1/points", headers=h, json={**body, "basis": "原备案台账第9号", "force": True})
    assert r.status_code == 201
