"""service of notices (送达): one record per served notice

Revision ID: 0006_n2_service
Revises: 0005_n3_verify
Create Date: 2026-11-24 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cases.models

revision: str = "0006_n2_service"
down_revision: str | None = "0005_n3_verify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("served_on", sa.Date(), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("served_by", sa.Integer(), nullable=True),
        sa.Column("receipt_number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("created_at", cases.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"]),
        sa.ForeignKeyConstraint(["served_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notice_id"),
    )
    with op.batch_alter_table("notice_service", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_service_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notice_service", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_service_case_id"))
    op.drop_table("notice_service")
