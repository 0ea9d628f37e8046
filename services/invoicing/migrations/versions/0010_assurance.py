"""revenue assurance: tenant settings, holds on drafts, vendor bills

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tenant_settings",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("anomaly_threshold", sa.Numeric(12, 4), nullable=False),
        sa.Column("anomaly_min_units", sa.Numeric(24, 4), nullable=False),
        sa.Column("auto_apply_credit_notes", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_settings")),
        schema="invoicing",
    )
    op.create_table(
        "invoice_holds",
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("reasons", Json, nullable=False),
        sa.Column("released_by", sa.String(length=36), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoicing.invoices.id"],
            name=op.f("fk_invoice_holds_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_holds")),
        schema="invoicing",
    )
    op.create_index(
        "ix_invoice_holds_tenant_period",
        "invoice_holds",
        ["tenant_id", "period"],
        schema="invoicing",
    )
    op.create_table(
        "vendor_bills",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("module", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", Json, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "module", "period", name=op.f("pk_vendor_bills")),
        schema="invoicing",
    )


def downgrade() -> None:
    op.drop_table("vendor_bills", schema="invoicing")
    op.drop_index("ix_invoice_holds_tenant_period", table_name="invoice_holds", schema="invoicing")
    op.drop_table("invoice_holds", schema="invoicing")
    op.drop_table("tenant_settings", schema="invoicing")
