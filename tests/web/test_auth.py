"""Signing in and out, CSRF, lock-out, redirects and security headers."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.web import create_app
from app.web.security import LOGIN_CSRF_COOKIE, MAX_FAILED_LOGINS, SESSION_COOKIE
from cases.config import District, Settings
from cases.models import User, WebSession
from cases.users import hash_password
from tests.conftest import NOW, People
from tests.web.conftest import CSRF_RE

PASSWORD = "correct horse 7"


def _with_password(engine: Engine, user: User) -> None:
    with Session(engine) as s:
        row = s.get(User, user.id)
        assert row is not None
        row.password_hash = hash_password(PASSWORD)
        s.add(row)
        s.commit()


def _login_form(client: TestClient) -> str:
    r = client.get("/login")
    assert r.status_code == 200
    assert client.cookies.get(LOGIN_CSRF_COOKIE)
    m = CSRF_RE.search(r.text)
    assert m
    return m.group(1)


def test_pages_need_a_session(client: TestClient) -> None:
    for url in ("/", "/worklist", "/queue", "/dashboard", "/points", "/inbox", "/cases/1", "/workflow"):
        r = client.get(url)
        assert r.status_code == 303, url
        assert r.headers["location"].startswith("/login?next="), url


def test_sign_in_and_out(client: TestClient, engine: Engine, people: People) -> None:
    _with_password(engine, people.inspector)
    token = _login_form(client)
    r = client.post("/login", data={"name": "insp", "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert r.status_code == 303
    assert r.headers["location"] == "/worklist"
    cookie = r.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/worklist")
    assert page.status_code == 200
    assert "本镇街案件" in page.text
    csrf = CSRF_RE.search(page.text)
    assert csrf
    # signing out ends the session on the server: the old cookie is worthless
    old = client.cookies.get(SESSION_COOKIE)
    r = client.post("/logout", data={"csrf_token": csrf.group(1)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    with Session(engine) as s:
        assert s.exec(select(WebSession)).all() == []
    client.cookies.set(SESSION_COOKIE, old or "")
    assert client.get("/worklist").status_code == 303


def test_reviewer_lands_on_the_queue_and_next_is_kept_local(client: TestClient, engine: Engine,
                                                             people: People) -> None:
    _with_password(engine, people.reviewer)
    token = _login_form(client)
    r = client.post("/login", data={"name": "rev", "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert r.headers["location"] == "/queue"
    client.cookies.clear()
    token = _login_form(client)
    r = client.post("/login", data={"name": "rev", "password": PASSWORD, "csrf_token": token,
                                    "next": "//evil.example/steal"})
    assert r.headers["location"] == "/queue"


def test_sign_in_needs_the_login_csrf_token(client: TestClient, engine: Engine, people: People) -> None:
    _with_password(engine, people.inspector)
    _login_form(client)
    r = client.post("/login", data={"name": "insp", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403
    assert "安全校验" in r.text


def test_wrong_passwords_lock_the_account(engine: Engine, district: District, people: People,
                                          tmp_path: object) -> None:
    _with_password(engine, people.inspector)
    clock = {"now": NOW}
    app = create_app(engine=engine, district=district, settings=Settings(), clock=lambda: clock["now"])
    with TestClient(app, follow_redirects=False) as client:
        for _ in range(MAX_FAILED_LOGINS):
            token = _login_form(client)
            r = client.post("/login", data={"name": "insp", "password": "wrong", "csrf_token": token})
            assert r.status_code == 401
        assert "锁定" in r.text
        token = _login_form(client)
        r = client.post("/login", data={"name": "insp", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 401 and "锁定" in r.text  # even the right password, while locked
        clock["now"] = NOW + timedelta(minutes=16)
        token = _login_form(client)
        r = client.post("/login", data={"name": "insp", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 303
    with Session(engine) as s:
        u = s.get(User, people.inspector.id)
        assert u is not None and u.failed_logins == 0 and u.locked_until is None


def test_unknown_user_gets_the_same_answer(client: TestClient) -> None:
    token = _login_form(client)
    r = client.post("/login", data={"name": "nobody", "password": "x", "csrf_token": token})
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text


def test_posts_need_the_session_csrf_token(as_user, people: People, driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    b = as_user(people.inspector)
    for token in ("", "forged"):
        r = b.client.post(f"/cases/{case.id}/do", data={"csrf_token": token, "trigger": "start_review"})
        assert r.status_code == 403
    r = b.post(f"/cases/{case.id}/do", {"trigger": "start_review", "expected_version": case.version})
    assert r.status_code == 303


def test_security_headers(client: TestClient, app: FastAPI) -> None:
    r = client.get("/login")
    h = r.headers
    assert h["x-frame-options"] == "DENY"
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "same-origin"
    assert "script-src 'self'" in h["content-security-policy"]
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert "unsafe-inline" not in h["content-security-policy"]
    assert client.get("/static/app.css").status_code == 200


def test_too_large_bodies_are_refused(client: TestClient) -> None:
    r = client.post("/login", content=b"x" * 10, headers={"content-length": str(30 * 1024 * 1024)})
    assert r.status_code == 413
