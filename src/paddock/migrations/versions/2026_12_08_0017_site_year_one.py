"""Year one per site: its opening date, its own targets, and its kind

`site.opens_on` (a day: year one runs from it, not from 1 January), `site.drivers_target`
and `site.dealer_share_target_bp` (basis points, 1500 = 15 %: each site's own year-one
targets; null: the brief's defaults) and `site.kind` ('experience' or 'motorsport': the
customer racing support site is in no experience-centre picker). Columns added in place on both databases (no table copy,
so no foreign key fires); existing sites whose pools are support pools and that sell no
product become 'motorsport'.

Revision ID: 0017_site_year_one
Revises: 0012_date_columns_named_on
Create Date: 2026-12-08 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_site_year_one"
down_revision: str | Sequence[str] | None = "0015_ops_console"
branch_labels: str | Sequence[str] | None = None
# The support pools' table, read to mark the motorsport site.
depends_on: str | Sequence[str] | None = "0004_motorsport"


def upgrade() -> None:
    op.add_column("site", sa.Column("opens_on", sa.Date(), nullable=True))
    op.add_column("site", sa.Column("drivers_target", sa.Integer(), nullable=True))
    op.add_column("site", sa.Column("dealer_share_target_bp", sa.Integer(), nullable=True))
    op.add_column(
        "site",
        sa.Column("kind", sa.String(16), nullable=False, server_default="experience"),
    )
    op.execute(
        "UPDATE site SET kind = 'motorsport' WHERE id IN ("
        "SELECT pool.site_id FROM pool JOIN support_pool ON support_pool.pool_id = pool.id) "
        "AND id NOT IN (SELECT site_id FROM product)"
    )


def downgrade() -> None:
    for column in ("kind", "dealer_share_target_bp", "drivers_target", "opens_on"):
        op.drop_column("site", column)
