"""audit: what each write changed (action, resource, before, after), the client's address

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    for column in (
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("resource", sa.String(length=64), nullable=True),
        sa.Column("resource_id", sa.String(length=200), nullable=True),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
    ):
        op.add_column("audit", column, schema="gateway")
    op.create_index(
        "ix_audit_tenant_id_key_id_id", "audit", ["tenant_id", "key_id", "id"], schema="gateway"
    )
    op.create_index(
        "ix_audit_tenant_id_resource_id",
        "audit",
        ["tenant_id", "resource", "id"],
        schema="gateway",
    )


def downgrade() -> None:
    op.drop_index("ix_audit_tenant_id_resource_id", table_name="audit", schema="gateway")
    op.drop_index("ix_audit_tenant_id_key_id_id", table_name="audit", schema="gateway")
    for name in ("source", "after", "before", "resource_id", "resource", "action"):
        op.drop_column("audit", name, schema="gateway")
