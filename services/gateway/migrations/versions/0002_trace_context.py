"""outbox rows keep the trace context they were written in

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox", sa.Column("trace_context", sa.String(length=512), nullable=True), schema="gateway"
    )


def downgrade() -> None:
    op.drop_column("outbox", "trace_context", schema="gateway")
