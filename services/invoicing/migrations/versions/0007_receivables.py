"""receivables: payment reversals, credit-note applications and refunds, due-date index,
the seller's payment details

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 23:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "invoicing"


def _document_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{SCHEMA}.invoices.id"],
        name=op.f(f"fk_{table}_{column}_invoices"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.add_column("payments", sa.Column("reversed_on", sa.Date(), nullable=True), schema=SCHEMA)
    op.add_column("payments", sa.Column("reversal_reason", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column(
        "payments",
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.create_table(
        "credit_applications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("credit_note_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _document_fk("credit_applications", "credit_note_id"),
        _document_fk("credit_applications", "invoice_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_applications")),
        schema=SCHEMA,
    )
    op.create_table(
        "credit_refunds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("credit_note_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _document_fk("credit_refunds", "credit_note_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_refunds")),
        schema=SCHEMA,
    )
    for table, column in (
        ("credit_applications", "credit_note_id"),
        ("credit_applications", "invoice_id"),
        ("credit_refunds", "credit_note_id"),
    ):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], schema=SCHEMA)
    op.create_index("ix_invoices_tenant_due", "invoices", ["tenant_id", "due_on"], schema=SCHEMA)
    op.add_column(
        "seller_profiles",
        sa.Column("payment_details", sa.Text(), nullable=False, server_default=""),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("seller_profiles", "payment_details", schema=SCHEMA)
    op.drop_index("ix_invoices_tenant_due", table_name="invoices", schema=SCHEMA)
    op.drop_table("credit_refunds", schema=SCHEMA)
    op.drop_table("credit_applications", schema=SCHEMA)
    for column in ("reversed_at", "reversal_reason", "reversed_on"):
        op.drop_column("payments", column, schema=SCHEMA)
