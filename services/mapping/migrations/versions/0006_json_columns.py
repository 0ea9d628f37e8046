"""service codes and audit states as JSON (JSONB on PostgreSQL) instead of text

SQLite keeps its columns: it stores JSON as text either way.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 19:46:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("service_mappings", "service_codes"),
    ("contracts", "service_codes"),
    ("mapping_audit", "before"),
    ("mapping_audit", "after"),
)


def _alter(to: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(
            f'ALTER TABLE mapping.{table} ALTER COLUMN "{column}" TYPE {to} USING "{column}"::{to}'
        )


def upgrade() -> None:
    _alter("jsonb")


def downgrade() -> None:
    _alter("text")
