"""mapping audit and module billing replica

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:53:27.244179
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mapping_audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("module", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=200), nullable=True),
        sa.Column("metric", sa.String(length=64), nullable=True),
        sa.Column("company_id", sa.String(length=36), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mapping_audit")),
        schema="mapping",
    )
    op.create_index(
        "ix_mapping_audit_tenant_id_id",
        "mapping_audit",
        ["tenant_id", "id"],
        unique=False,
        schema="mapping",
    )
    op.create_table(
        "module_billing",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("module", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "module", name=op.f("pk_module_billing")),
        schema="mapping",
    )


def downgrade() -> None:
    op.drop_table("module_billing", schema="mapping")
    op.drop_index("ix_mapping_audit_tenant_id_id", table_name="mapping_audit", schema="mapping")
    op.drop_table("mapping_audit", schema="mapping")
