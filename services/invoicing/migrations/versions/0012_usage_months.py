"""the unit table summed per month (what the reconciliation reads), filled from the units

Revision ID: 0012_usage_months
Revises: 0011_number_format
Create Date: 2026-12-01 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_usage_months"
down_revision: str | None = "0011_number_format"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAYS = [f"d{d:02}" for d in range(1, 32)]
PER_DAY = ", ".join(
    f"sum(CASE WHEN extract(day FROM day) = {d} THEN quantity ELSE 0 END)" for d in range(1, 32)
)

# Each record (its rows: one per service code it feeds) once, under its resolution, per
# org, metric and month; a column per day of the month.
FILL = f"""
INSERT INTO invoicing.usage_months (tenant_id, month, module, org_id, metric, status,
    company_id, service_codes, quantity, {", ".join(DAYS)})
SELECT tenant_id, date_trunc('month', day)::date, module, org_id, metric, status,
    company_id, service_codes, sum(quantity),
    {PER_DAY}
FROM (
    SELECT tenant_id, module, org_id, metric, day, min(status) AS status,
        coalesce(min(company_id), '') AS company_id,
        coalesce(string_agg(nullif(service_code, ''), ',' ORDER BY service_code), '')
            AS service_codes,
        max(quantity) AS quantity
    FROM invoicing.units
    GROUP BY tenant_id, module, org_id, metric, day
) AS records
GROUP BY tenant_id, date_trunc('month', day)::date, module, org_id, metric, status,
    company_id, service_codes
"""


def upgrade() -> None:
    quantity = sa.Numeric(24, 4)
    op.create_table(
        "usage_months",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("module", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("service_codes", sa.String(length=1300), nullable=False),
        sa.Column("quantity", quantity, nullable=False),
        *(sa.Column(d, quantity, nullable=False) for d in DAYS),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "month",
            "module",
            "org_id",
            "metric",
            "status",
            "company_id",
            "service_codes",
            name=op.f("pk_usage_months"),
        ),
        schema="invoicing",
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FILL)


def downgrade() -> None:
    op.drop_table("usage_months", schema="invoicing")
