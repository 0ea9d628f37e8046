"""JSON columns: contract service tiers and invoice parties as jsonb, line sources and daily
series as json

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 20:00:00.000000

The columns held JSON text already, so PostgreSQL converts them in place; SQLite keeps JSON
as text and needs nothing. Invoice lines take ``json`` (validated, stored as written): billing
runs COPY them in bulk, and building ``jsonb`` would cost the server several times the COPY.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("contract_services", "tiers", "jsonb"),
    ("invoices", "parties", "jsonb"),
    ("invoice_lines", "sources", "json"),
    ("invoice_lines", "daily", "json"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, type_ in COLUMNS:
        op.execute(
            f"ALTER TABLE invoicing.{table} ALTER COLUMN {column} TYPE {type_} "
            f"USING {column}::{type_}"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, _ in COLUMNS:
        op.execute(
            f"ALTER TABLE invoicing.{table} ALTER COLUMN {column} TYPE text USING {column}::text"
        )
