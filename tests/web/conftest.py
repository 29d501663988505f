"""Fixtures for the web tests: the app over the test database, a client, and signing in as someone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.web import create_app
from app.web.security import SESSION_COOKIE, create_session
from cases.config import District, Settings
from cases.models import User, WebSession
from tests.conftest import NOW

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def app(engine: Engine, district: District, data_dir: Path) -> FastAPI:
    return create_app(engine=engine, district=district, settings=Settings(), clock=lambda: NOW, data_dir=data_dir)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c


@dataclass
class Browser:
    """A TestClient signed in as one user, with that session's CSRF token."""

    client: TestClient
    user: User
    csrf: str

    def get(self, url: str, **kw: object):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kw)  # type: ignore[arg-type]

    def post(self, url: str, data: dict[str, object] | None = None, **kw: object):  # type: ignore[no-untyped-def]
        form = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(url, data=form, **kw)  # type: ignore[arg-type]


def sign_in_as(app: FastAPI, engine: Engine, user: User) -> Browser:
    """A fresh client with a session for `user` (made directly: argon2 is tested once, elsewhere)."""
    with Session(engine, expire_on_commit=False) as s:
        token = create_session(s, user, now=NOW)
        from sqlmodel import select

        from app.web.security import token_digest

        row = s.exec(select(WebSession).where(WebSession.token_hash == token_digest(token))).one()
        csrf = row.csrf_token
    client = TestClient(app, follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, token)
    return Browser(client=client, user=user, csrf=csrf)


@pytest.fixture
def as_user(app: FastAPI, engine: Engine):  # type: ignore[no-untyped-def]
    made: list[Browser] = []

    def make(user: User) -> Browser:
        b = sign_in_as(app, engine, user)
        made.append(b)
        return b

    yield make
    for b in made:
        b.client.close()
