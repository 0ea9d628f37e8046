"""JSON columns as jsonb: contract service tiers, invoice parties, line sources and daily series

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-30 20:00:00.000000

The columns held JSON text already, so PostgreSQL converts them in place; SQLite keeps JSON
as text and needs nothing.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("contract_services", "tiers"),
    ("invoices", "parties"),
    ("invoice_lines", "sources"),
    ("invoice_lines", "daily"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(
            f"ALTER TABLE invoicing.{table} ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(
            f"ALTER TABLE invoicing.{table} ALTER COLUMN {column} TYPE text USING {column}::text"
        )
