"""The operations console: a coach's user account linked to their coach unit

A signed-in coach sees their own day ("my day"): `coach_account` links a user to the coach
unit they are, one unit per user and one user per unit. A table of its own, so neither
user_account nor unit is altered (no table copy on SQLite).

Revision ID: 0015_ops_console
Revises: 0012_date_columns_named_on
Create Date: 2026-12-08 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_ops_console"
down_revision: str | Sequence[str] | None = "0014_guest_policy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coach_account",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name="fk_coach_account_user_id_user_account",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name="fk_coach_account_unit_id_unit", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_coach_account"),
        sa.UniqueConstraint("unit_id", name="uq_coach_account_unit_id"),
    )


def downgrade() -> None:
    op.drop_table("coach_account")
