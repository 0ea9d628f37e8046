"""pending re-resolutions of org usage

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_resolutions",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("module", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=200), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "module", "org_id", name=op.f("pk_pending_resolutions")
        ),
        schema="mapping",
    )


def downgrade() -> None:
    op.drop_table("pending_resolutions", schema="mapping")
