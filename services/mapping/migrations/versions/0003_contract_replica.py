"""contract replica

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 08:25:41.503117
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("service_codes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_contracts")),
        schema="mapping",
    )
    op.create_index(
        "ix_contracts_tenant_id_company_id",
        "contracts",
        ["tenant_id", "company_id"],
        unique=False,
        schema="mapping",
    )


def downgrade() -> None:
    op.drop_index("ix_contracts_tenant_id_company_id", table_name="contracts", schema="mapping")
    op.drop_table("contracts", schema="mapping")
