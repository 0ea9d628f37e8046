"""units by company and day, for billing runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 08:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_units_company_day",
        "units",
        ["tenant_id", "company_id", "day"],
        unique=False,
        schema="invoicing",
        postgresql_include=["service_code", "module", "metric", "quantity"],
        postgresql_where=sa.text("status = 'mapped'"),
        sqlite_where=sa.text("status = 'mapped'"),
    )


def downgrade() -> None:
    op.drop_index("ix_units_company_day", table_name="units", schema="invoicing")
