"""workflow version on cases; kind of point (childcare point or estate kindergarten)

Revision ID: 0002_c2_workflow_version
Revises: 0001
Create Date: 2026-11-24 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002_c2_workflow_version"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("workflow_version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("point", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False,
                                      server_default="childcare_point"))


def downgrade() -> None:
    with op.batch_alter_table("point", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("workflow_version")
