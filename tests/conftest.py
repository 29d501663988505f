"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

PostgreSQL (`TUOYOU_TEST_PG`, default 127.0.0.1:5432 database `test`) is used when reachable;
each test gets its own schema. Locally an unreachable server skips those tests; under
`CI=true` it fails them.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from cases.bootstrap import init_database
from cases.config import DEMO_DISTRICT, DISTRICTS_DIR, District, load_district
from cases.db import make_engine
from cases.models import Case, Township, User
from cases.service import Action, Result, advance, open_case
from cases.users import add_user, system_user

PG_URL = os.environ.get("TUOYOU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_pg_ok: bool | None = None


def pg_available() -> bool:
    global _pg_ok
    if _pg_ok is None:
        try:
            eng = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with eng.connect() as conn:
                conn.execute(sa.text("select 1"))
            eng.dispose()
            _pg_ok = True
        except Exception:
            _pg_ok = False
    return _pg_ok


def require_pg() -> None:
    if not pg_available():
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable at {PG_URL}")
        pytest.skip("PostgreSQL not reachable")


@pytest.fixture(scope="session")
def district() -> District:
    return load_district(None)


@pytest.fixture(scope="session")
def shijingshan() -> District:
    return load_district(DISTRICTS_DIR / "shijingshan.toml")


def _pg_engine(schema: str) -> Engine:
    return make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tuoyou.db'}"
        return
    require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        _drop_schema(admin, schema)
        admin.dispose()


def _drop_schema(admin: Engine, schema: str) -> None:
    """Drop a test's schema; a connection the test left in a transaction on it is ended first, so a leak
    fails no other test and never hangs the run (only backends holding locks in this schema are ended)."""
    with admin.begin() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND l.pid <> pg_backend_pid()"
        ), {"schema": schema})
        conn.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def engine(db_url: str, district: District) -> Iterator[Engine]:
    """A migrated database with the demo district's townships and the system user."""
    eng = make_engine(db_url)
    init_database(eng, district)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@dataclass
class People:
    inspector: User  # township 1
    inspector2: User  # township 1, a colleague
    other_inspector: User  # township 2
    lead: User  # township 1
    reviewer: User
    reviewer2: User
    committee: User
    admin: User
    system: User
    town: Township
    other_town: Township


@pytest.fixture
def people(session: Session, district: District) -> People:
    towns = {t.code: t for t in session.exec(select(Township)).all()}
    t1, t2 = towns[district.townships[0].code], towns[district.townships[1].code]
    mk = add_user
    return People(
        inspector=mk(session, name="insp", role="inspector", township_code=t1.code, email="insp@example.test"),
        inspector2=mk(session, name="insp_b", role="inspector", township_code=t1.code),
        other_inspector=mk(session, name="insp_other", role="inspector", township_code=t2.code),
        lead=mk(session, name="lead", role="lead", township_code=t1.code, email="lead@example.test"),
        reviewer=mk(session, name="rev", role="reviewer", email="rev@example.test"),
        reviewer2=mk(session, name="rev2", role="reviewer"),
        committee=mk(session, name="com", role="committee", email="com@example.test"),
        admin=mk(session, name="adm", role="admin"),
        system=system_user(session),
        town=t1,
        other_town=t2,
    )


NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing


class Driver:
    """Drives one case through the service, as tests do."""

    def __init__(self, session: Session, district: District, people: People) -> None:
        self.session = session
        self.district = district
        self.people = people
        self.opened = 0

    def open(self, *, registered_on: date | None = date(2022, 5, 1), now: datetime = NOW,
             town: Township | None = None, actor: User | None = None, name: str = "阳光托幼点",
             address: str | None = None, operator: str = "张三", phone: str = "", basis: str | None = None,
             force: bool = False) -> Case:
        """A new point and case; each call a different address (so not a duplicate) unless one is given."""
        town = town or self.people.town
        self.opened += 1
        if basis is None:
            basis = "原备案台账（测试）" if registered_on and registered_on <= self.district.district.cutoff else ""
        return open_case(session=self.session, district=self.district, actor=actor or self.people.inspector,
                         name=name, township_code=town.code, address=address or f"某村{self.opened}号",
                         operator=operator, phone=phone, registered_on=registered_on, now=now, basis=basis,
                         force=force)

    def do(self, case: Case | int, trigger: str, actor: User | None = None, now: datetime = NOW,
           **kw: object) -> Result:
        case_id = case if isinstance(case, int) else case.id
        assert case_id is not None
        return advance(session=self.session, district=self.district, case_id=case_id,
                       actor=actor or self.people.inspector, action=Action(trigger=trigger, **kw),  # type: ignore[arg-type]
                       now=now)


@pytest.fixture
def driver(session: Session, district: District, people: People) -> Driver:
    return Driver(session, district, people)


def district_file(tmp_path: Path, old: str, new: str) -> Path:
    """The demo district file with `old` replaced once by `new` (which must be there), written under tmp_path."""
    text = DEMO_DISTRICT.read_text(encoding="utf-8")
    assert old in text, old
    p = tmp_path / "district.toml"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


def at_once(n: int, fn: Callable[[], object], timeout: float = 60) -> tuple[list[object], list[BaseException]]:
    """Run `fn` in `n` threads released together; what they returned and what they raised."""
    barrier = threading.Barrier(n)
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(fn())
        except BaseException as exc:  # every failure is reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results, errors
