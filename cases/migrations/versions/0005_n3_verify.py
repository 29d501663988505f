"""notice renderings kept (content fingerprints) and the district's audit seal

Revision ID: 0005_n3_verify
Revises: 0004_c2_complaint
Create Date: 2026-11-24 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cases.models

revision: str = "0005_n3_verify"
down_revision: str | None = "0004_c2_complaint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_rendering",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("rendered_at", cases.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notice_id", "sha256", name="uq_notice_rendering_sha"),
    )
    with op.batch_alter_table("notice_rendering", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_rendering_notice_id"), ["notice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_rendering_sha256"), ["sha256"], unique=False)
    op.create_table(
        "audit_seal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sealed_at", cases.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("anchors", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
        sa.UniqueConstraint("seq"),
    )
    op.create_table(
        "seal_anchor",
        sa.Column("seal_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["seal_id"], ["audit_seal.id"]),
        sa.PrimaryKeyConstraint("seal_id", "case_id"),
    )
    with op.batch_alter_table("seal_anchor", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seal_anchor_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("seal_anchor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seal_anchor_case_id"))
    op.drop_table("seal_anchor")
    op.drop_table("audit_seal")
    with op.batch_alter_table("notice_rendering", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_rendering_sha256"))
        batch_op.drop_index(batch_op.f("ix_notice_rendering_notice_id"))
    op.drop_table("notice_rendering")
