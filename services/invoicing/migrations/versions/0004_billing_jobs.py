"""durable jobs (billing runs) in the invoicing schema

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("result", Json, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=120), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        schema="invoicing",
    )
    op.create_index(
        "ix_jobs_status_created_at", "jobs", ["status", "created_at"], schema="invoicing"
    )
    op.create_index(
        "ix_jobs_tenant_id_created_at", "jobs", ["tenant_id", "created_at"], schema="invoicing"
    )
    op.create_index(
        "uq_jobs_active_subject",
        "jobs",
        ["tenant_id", "kind", "subject"],
        unique=True,
        schema="invoicing",
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_jobs_active_subject", table_name="jobs", schema="invoicing")
    op.drop_index("ix_jobs_tenant_id_created_at", table_name="jobs", schema="invoicing")
    op.drop_index("ix_jobs_status_created_at", table_name="jobs", schema="invoicing")
    op.drop_table("jobs", schema="invoicing")
