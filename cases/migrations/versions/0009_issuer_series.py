"""notice numbers per issuing body: a `series` in the counter's key and in each notice's unique number key

Revision ID: 0009_issuer_series
Revises: 0008_f2_records
Create Date: 2026-11-30 09:00:00

Existing counters and notices were all numbered in their kind's common series, which the empty
series names: they keep their numbers, and the next number of each series follows its last.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_issuer_series"
down_revision: str | None = "0008_f2_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTER_KEY = ["district", "kind", "series", "year"]
_NOTICE_KEY = ["district", "kind", "series", "year", "seq"]


def _series() -> sa.Column[str]:
    return sa.Column("series", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False, server_default="")


def _counter(key: list[str]) -> None:
    """Build notice_counter again with `key` as its primary key, keeping its rows (a handful: kinds × years).

    The same on SQLite and PostgreSQL, and no one refers to the table: read, drop, create, write back.
    """
    conn = op.get_bind()
    rows = [dict(r) for r in conn.execute(sa.text("SELECT * FROM notice_counter")).mappings()]
    op.drop_table("notice_counter")
    columns = [sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
               sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False)]
    if "series" in key:
        columns.append(_series())
    columns += [sa.Column("year", sa.Integer(), nullable=False), sa.Column("last", sa.Integer(), nullable=False)]
    table = op.create_table("notice_counter", *columns, sa.PrimaryKeyConstraint(*key))
    names = {c.name for c in columns}
    if rows:
        op.bulk_insert(table, [{k: v for k, v in r.items() if k in names} for r in rows])


def upgrade() -> None:
    _counter(_COUNTER_KEY)  # existing rows counted the common series: series "" (the server default)
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(_series())
        batch_op.drop_constraint("uq_notice_seq", type_="unique")
        batch_op.create_unique_constraint("uq_notice_seq", _NOTICE_KEY)


def downgrade() -> None:
    """Only while every notice is still in its kind's common series (another series' numbers would collide)."""
    conn = op.get_bind()
    own = conn.execute(sa.text("SELECT count(*) FROM notice WHERE series <> ''")).scalar_one()
    if own:
        raise RuntimeError(f"{own} notices are numbered in an issuing body's own series; "
                           "they cannot be folded back into the common series")
    conn.execute(sa.text("DELETE FROM notice_counter WHERE series <> ''"))
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notice_seq", type_="unique")
        batch_op.create_unique_constraint("uq_notice_seq", ["district", "kind", "year", "seq"])
        batch_op.drop_column("series")
    _counter(["district", "kind", "year"])
