"""The Alembic migrations produce exactly the schema the models declare, and re-running is a no-op."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import cases.models  # noqa: F401
from cases.db import migrate


def test_migrations_match_models(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_migrate_is_idempotent(engine: sa.Engine) -> None:
    first = migrate(engine)
    assert migrate(engine) == first
    names = set(sa.inspect(engine).get_table_names())
    assert {"case", "case_event", "notice", "notice_counter", "message", "app_user", "point"} <= names
