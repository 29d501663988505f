"""township figures for the three rates (三率)

Revision ID: 0003_c1_township_stat
Revises: 0002_c2_workflow_version
Create Date: 2026-11-24 06:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cases.models

revision: str = "0003_c1_township_stat"
down_revision: str | None = "0002_c2_workflow_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "township_stat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("enrolled", sa.Integer(), nullable=False),
        sa.Column("public", sa.Integer(), nullable=False),
        sa.Column("inclusive_private", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", cases.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["township_id"], ["township.id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("township_id", "year", name="uq_township_stat_year"),
    )
    with op.batch_alter_table("township_stat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_township_stat_township_id"), ["township_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("township_stat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_township_stat_township_id"))
    op.drop_table("township_stat")
