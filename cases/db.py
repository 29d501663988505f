"""Database engines and sessions: SQLite (WAL) by default, PostgreSQL through psycopg.

Schema changes go through Alembic (`migrate`); `create_all` is never used outside tests of
the migrations themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

_LOGGER = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` and use the psycopg (v3) driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def make_engine(url: str, **kw: Any) -> Engine:
    """A new engine for `url`; SQLite gets WAL, FULL sync, foreign keys and a busy timeout."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        kw.setdefault("connect_args", {"check_same_thread": False})
        eng = sa.create_engine(url, **kw)
        event.listen(eng, "connect", _sqlite_pragmas)
    else:
        kw.setdefault("pool_pre_ping", True)
        eng = sa.create_engine(url, **kw)
    return eng


def is_busy(exc: OperationalError) -> bool:
    """Whether a database error means another writer held what we needed (retry later), not a fault."""
    text = str(exc.orig).lower()
    return "locked" in text or "could not serialize" in text or "deadlock" in text


@lru_cache(maxsize=16)
def engine_for_url(url: str) -> Engine:
    """One shared engine per URL for the process."""
    return make_engine(url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> str | None:
    """Create or upgrade the schema to the newest migration; returns the revision reached."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    _LOGGER.info("database at revision %s", rev)
    return rev
