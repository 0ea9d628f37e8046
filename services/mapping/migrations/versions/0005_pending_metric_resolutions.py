"""pending re-resolutions of metric usage after service mapping changes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 19:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_metric_resolutions",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("module", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "module",
            "metric",
            "company_id",
            name=op.f("pk_pending_metric_resolutions"),
        ),
        schema="mapping",
    )


def downgrade() -> None:
    op.drop_table("pending_metric_resolutions", schema="mapping")
