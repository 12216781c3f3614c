"""Date columns named `_on`: sale.sold_on, conversion.converted_on, vehicle.bought_on

They hold days, not instants (`_at` names a moment in this schema). Renamed in place with
ALTER TABLE ... RENAME COLUMN on both databases (SQLite 3.25+ does it natively, indexes
follow): no table copy, so no row is touched and no foreign key fires. The index named
after the old column is renamed with it.

Revision ID: 0012_date_columns_named_on
Revises: 0011_throttle_counters
Create Date: 2026-12-07 21:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_date_columns_named_on"
down_revision: str | Sequence[str] | None = "0011_throttle_counters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old name, new name)
RENAMES = (
    ("sale", "sold_at", "sold_on"),
    ("conversion", "converted_at", "converted_on"),
    ("vehicle", "bought_at", "bought_on"),
)


def upgrade() -> None:
    for table, old, new in RENAMES:
        _rename(table, old, new)
    _rename_index("ix_sale_sold_at", "ix_sale_sold_on", "sold_on")


def downgrade() -> None:
    for table, old, new in RENAMES:
        _rename(table, new, old)
    _rename_index("ix_sale_sold_on", "ix_sale_sold_at", "sold_at")


def _rename(table: str, old: str, new: str) -> None:
    # recreate="never": SQLite renames in place instead of copying the table, which with
    # foreign keys on would cascade the drop of the old copy to the rows that refer to it.
    with op.batch_alter_table(table, recreate="never") as batch_op:
        batch_op.alter_column(old, new_column_name=new)


def _rename_index(old: str, new: str, column: str) -> None:
    with op.batch_alter_table("sale", recreate="never") as batch_op:
        batch_op.drop_index(old)
        batch_op.create_index(new, [column], unique=False)
