"""the invoice number's display format: a tenant setting, and each posted document's number
as printed, frozen at posting

Revision ID: 0011_number_format
Revises: 0010
Create Date: 2026-12-01 03:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_number_format"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tenant_settings",
        sa.Column("invoice_number_format", sa.String(length=64), nullable=True),
        schema="invoicing",
    )
    op.add_column(
        "invoices",
        sa.Column("display_number", sa.String(length=64), nullable=True),
        schema="invoicing",
    )


def downgrade() -> None:
    op.drop_column("invoices", "display_number", schema="invoicing")
    op.drop_column("tenant_settings", "invoice_number_format", schema="invoicing")
