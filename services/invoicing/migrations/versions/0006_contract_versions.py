"""Contract versions and line segments: services carry the date their version takes effect,
invoice lines their segment and calculation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 23:30:00.000000

``contract_services.effective_from`` is NULL for the contract's first version (in force from
its ``start_date``, wherever that moves) and the amendment's date otherwise. Lines written
before carry no segment (they span the period's active days) and no calculation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contract_services", sa.Column("effective_from", sa.Date()), schema="invoicing")
    op.add_column("invoice_lines", sa.Column("period_start", sa.Date()), schema="invoicing")
    op.add_column("invoice_lines", sa.Column("period_end", sa.Date()), schema="invoicing")
    op.add_column(
        "invoice_lines",
        sa.Column("calculation", sa.JSON(none_as_null=True)),
        schema="invoicing",
    )


def downgrade() -> None:
    op.drop_column("invoice_lines", "calculation", schema="invoicing")
    op.drop_column("invoice_lines", "period_end", schema="invoicing")
    op.drop_column("invoice_lines", "period_start", schema="invoicing")
    op.drop_column("contract_services", "effective_from", schema="invoicing")
