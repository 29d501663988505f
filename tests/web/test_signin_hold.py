"""Sign-in that holds: parallel guesses are all counted, no answer tells which names exist,
and administrators disable, enable and unlock users (CLI and admin page), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import argon2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from app.cli import app as cli_app
from app.web import create_app
from app.web.security import LOGIN_CSRF_COOKIE, MAX_FAILED_LOGINS, SESSION_COOKIE, sign_in
from cases.config import District, Settings
from cases.models import User, WebSession
from cases.users import issue_token
from tests.conftest import NOW, People

PASSWORD = "correct horse 42"


# a cheap hash: argon2 verifies with the cost stored in the hash, and these tests sign in a lot
CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _with_password(engine: Engine, user: User) -> None:
    with Session(engine) as s:
        row = s.get(User, user.id)
        assert row is not None
        row.password_hash = CHEAP.hash(PASSWORD)
        s.add(row)
        s.commit()


def _fresh(engine: Engine, user: User) -> User:
    with Session(engine) as s:
        row = s.get(User, user.id)
        assert row is not None
        return row


def _attempt(engine: Engine, name: str, password: str, barrier: threading.Barrier | None = None) -> bool:
    with Session(engine, expire_on_commit=False) as s:
        if barrier is not None:
            barrier.wait(timeout=30)
        return sign_in(s, name, password, now=NOW).user is not None


def test_parallel_failures_are_all_counted(engine: Engine, people: People) -> None:
    _with_password(engine, people.inspector)
    n = MAX_FAILED_LOGINS - 1
    barrier = threading.Barrier(n)
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda _: _attempt(engine, "insp", "wrong", barrier), range(n)))
    assert not any(results)
    u = _fresh(engine, people.inspector)
    assert u.failed_logins == n and u.locked_until is None  # no lost update: every guess counted


def test_forty_parallel_guesses_lock_the_account(engine: Engine, people: People) -> None:
    _with_password(engine, people.inspector)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _attempt(engine, "insp", "wrong"), range(40)))
    assert not any(results)
    u = _fresh(engine, people.inspector)
    assert u.locked_until is not None and u.locked_until > NOW
    assert not _attempt(engine, "insp", PASSWORD)  # the right password waits for the lock to pass
    with Session(engine, expire_on_commit=False) as s:
        assert sign_in(s, "insp", PASSWORD, now=NOW + timedelta(minutes=16)).user is not None


def test_unknown_disabled_and_locked_names_cost_the_same(engine: Engine, people: People,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every refusal verifies one argon2 hash, so none answers faster than a wrong password."""
    _with_password(engine, people.inspector)
    _with_password(engine, people.inspector2)
    calls: list[int] = []
    real = argon2.PasswordHasher.verify

    def counted(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        calls.append(1)
        return real(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)
    for _ in range(MAX_FAILED_LOGINS):
        _attempt(engine, "insp", "wrong")
    with Session(engine) as s:
        row = s.get(User, people.inspector2.id)
        assert row is not None
        row.active = False
        s.add(row)
        s.commit()
    for name in ("insp", "nobody", "insp_b", "a\x00b"):  # locked, unknown, disabled, unstorable
        calls.clear()
        assert not _attempt(engine, name, PASSWORD)
        assert len(calls) == 1, name


def _login_token(client: TestClient) -> str:
    client.get("/login")
    return client.cookies.get(LOGIN_CSRF_COOKIE) or ""


def _message(html: str) -> str:
    m = re.search(r'role="alert"[^>]*>(.*?)</', html, re.S)
    assert m, html[:2000]
    return m.group(1).strip()


def test_the_page_says_the_same_for_unknown_and_locked_names(engine: Engine, district: District,
                                                             people: People) -> None:
    _with_password(engine, people.inspector)
    app = create_app(engine=engine, district=district, settings=Settings(), clock=lambda: NOW)
    with TestClient(app, follow_redirects=False) as client:
        answers = {}
        for i in range(MAX_FAILED_LOGINS + 1):
            r = client.post("/login", data={"name": "insp", "password": "wrong", "csrf_token": _login_token(client)})
            answers[f"insp{i}"] = (r.status_code, _message(r.text))
        r = client.post("/login", data={"name": "insp", "password": PASSWORD, "csrf_token": _login_token(client)})
        answers["locked, right password"] = (r.status_code, _message(r.text))
        r = client.post("/login", data={"name": "nobody", "password": "x", "csrf_token": _login_token(client)})
        answers["unknown"] = (r.status_code, _message(r.text))
        r = client.post("/login", data={"name": "a\x00b", "password": "x", "csrf_token": _login_token(client)})
        answers["nul"] = (r.status_code, _message(r.text))
    assert len(set(answers.values())) == 1, answers
    assert next(iter(answers.values()))[0] == 401


# -- disable, enable, unlock -----------------------------------------------------------------

runner = CliRunner()


def cli(*args: str, code: int = 0) -> str:
    r = runner.invoke(cli_app, list(args))
    assert r.exit_code == code, (r.stdout, r.stderr)
    return r.stdout + r.stderr


def _sessions(engine: Engine, user: User) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(WebSession).where(WebSession.user_id == user.id)).one())


def test_disable_revokes_sessions_and_token_and_unlock_lifts_a_lock(engine: Engine, district: District,
                                                                    people: People, db_url: str) -> None:
    _with_password(engine, people.inspector)
    app = create_app(engine=engine, district=district, settings=Settings(), clock=lambda: NOW)
    with TestClient(app, follow_redirects=False) as client:
        r = client.post("/login", data={"name": "insp", "password": PASSWORD, "csrf_token": _login_token(client)})
        assert r.status_code == 303
        cookie = client.cookies.get(SESSION_COOKIE)
        with Session(engine) as s:
            row = s.get(User, people.inspector.id)
            assert row is not None
            token = issue_token(s, row)
        h = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/me", headers=h).status_code == 200
        assert client.get("/worklist").status_code == 200

        assert "已停用" in cli("user", "disable", "insp", "--db", db_url)
        assert _sessions(engine, people.inspector) == 0
        assert client.get("/worklist").status_code == 303  # back to the sign-in page
        assert client.get("/api/v1/me", headers=h).status_code == 401
        client.cookies.set(SESSION_COOKIE, cookie or "")
        assert client.get("/worklist").status_code == 303
        r = client.post("/login", data={"name": "insp", "password": PASSWORD, "csrf_token": _login_token(client)})
        assert r.status_code == 401
        listed = cli("user", "list", "--db", db_url)
        assert "停用" in listed

        cli("user", "enable", "insp", "--db", db_url)
        assert client.get("/api/v1/me", headers=h).status_code == 401  # the old token stays revoked
        for _ in range(MAX_FAILED_LOGINS):
            client.post("/login", data={"name": "insp", "password": "bad", "csrf_token": _login_token(client)})
        assert _fresh(engine, people.inspector).locked_until is not None
        out = runner.invoke(cli_app, ["user", "list", "--json", "--db", db_url]).stdout
        listed = {u["name"]: u for u in json.loads(out)}
        assert listed["insp"]["locked_until"] is not None
        cli("user", "unlock", "insp", "--db", db_url)
        r = client.post("/login", data={"name": "insp", "password": PASSWORD, "csrf_token": _login_token(client)})
        assert r.status_code == 303
    assert "不存在" in cli("user", "disable", "nobody", "--db", db_url, code=4)
    assert "不存在" in cli("user", "unlock", "system", "--db", db_url, code=4)


def test_the_admin_page(as_user, people: People, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    _with_password(engine, people.inspector)
    with Session(engine) as s:
        row = s.get(User, people.inspector.id)
        assert row is not None
        row.locked_until = NOW + timedelta(minutes=10)
        s.add(row)
        s.commit()
    victim = as_user(people.inspector2)
    assert victim.get("/worklist").status_code == 200
    admin = as_user(people.admin)
    page = admin.get("/admin/users")
    assert page.status_code == 200 and "用户管理" in page.text and "锁定至" in page.text
    assert 'href="/admin/users"' in page.text
    r = admin.post("/admin/users/unlock", {"name": "insp"})
    assert r.status_code == 303
    assert _fresh(engine, people.inspector).locked_until is None
    r = admin.post("/admin/users/disable", {"name": "insp_b"})
    assert r.status_code == 303
    assert victim.get("/worklist").status_code == 303
    assert not _fresh(engine, people.inspector2).active
    assert "已停用 insp_b" in admin.get(r.headers["location"]).text
    # the confirmation is the action's own words: an address cannot make the page say something else
    assert "转账" not in admin.get("/admin/users?done=请转账到某账户").text
    assert "role=\"status\"" not in admin.get("/admin/users?done=disable&name=nobody").text
    assert admin.post("/admin/users/enable", {"name": "insp_b"}).status_code == 303
    assert _fresh(engine, people.inspector2).active
    assert admin.post("/admin/users/disable", {"name": "adm"}).status_code == 403  # not oneself
    assert admin.post("/admin/users/disable", {"name": "nobody"}).status_code == 404
    assert admin.post("/admin/users/explode", {"name": "insp"}).status_code == 404
    assert admin.client.post("/admin/users/disable", data={"name": "insp"}).status_code == 403  # no CSRF token
    # nobody else may
    reviewer = as_user(people.reviewer)
    assert reviewer.get("/admin/users").status_code == 403
    assert reviewer.post("/admin/users/disable", {"name": "insp"}).status_code == 403
    assert _fresh(engine, people.inspector).active
    assert 'href="/admin/users"' not in reviewer.get("/dashboard").text
