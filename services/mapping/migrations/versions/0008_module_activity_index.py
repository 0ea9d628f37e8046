"""module orgs indexed by module and last day seen: every module's org count and latest day
(the insights' module activity) read from the index alone

Revision ID: 0008_module_activity_index
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_module_activity_index"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_module_orgs_tenant_module_last_seen",
        "module_orgs",
        ["tenant_id", "module", "last_seen"],
        schema="mapping",
    )


def downgrade() -> None:
    op.drop_index("ix_module_orgs_tenant_module_last_seen", "module_orgs", schema="mapping")
