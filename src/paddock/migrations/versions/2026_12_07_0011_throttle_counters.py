"""Throttle counters shared by every worker: hits per (bucket, window)

Sign-in failures, invitation code guesses and public bookings were counted per process
(and reset when X-Forwarded-For changed): a client spread over the workers got a multiple
of each limit. They are counted here now (paddock/throttle.py), one row per bucket and
fixed window, changed by one INSERT ... ON CONFLICT DO UPDATE ... RETURNING on both
databases; rows of ended windows are purged by their `expires_at`.

Revision ID: 0011_throttle_counters
Revises: 0010_sqlite_busy_from_index
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_throttle_counters"
down_revision: str | Sequence[str] | None = "0010_sqlite_busy_from_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "throttle_counter",
        sa.Column("bucket", sa.String(200), nullable=False),
        sa.Column("window_start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name="pk_throttle_counter"),
    )
    op.create_index("ix_throttle_counter_expires_at", "throttle_counter", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_throttle_counter_expires_at", table_name="throttle_counter")
    op.drop_table("throttle_counter")
