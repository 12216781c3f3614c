"""motorsport: championships, seasons, events, teams, chassis, entries, results, support
standard (versioned), grid policy, support pools, requests, decisions, support delivered

Revision ID: 0004_motorsport
Revises: 0001_core
Create Date: 2026-11-23 13:13:49.906117
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_motorsport"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "championship",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("strategic_weight", sa.Integer(), nullable=False),
        sa.Column("max_customer_cars", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "max_customer_cars IS NULL OR max_customer_cars >= 0", name=op.f("ck_championship_cap")
        ),
        sa.CheckConstraint("strategic_weight >= 0", name=op.f("ck_championship_weight_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_championship")),
        sa.UniqueConstraint("code", name=op.f("uq_championship_code")),
    )
    op.create_table(
        "customer_team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=80), nullable=False),
        sa.Column("base_region", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.CheckConstraint("priority >= 0", name=op.f("ck_customer_team_priority_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_team")),
        sa.UniqueConstraint("code", name=op.f("uq_customer_team_code")),
    )
    op.create_table(
        "grid_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("default_max_cars", sa.Integer(), nullable=False),
        sa.Column("win_bonus", sa.Integer(), nullable=False),
        sa.Column("podium_bonus", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.CheckConstraint(
            "default_max_cars >= 0 AND win_bonus >= 0 AND podium_bonus >= 0",
            name=op.f("ck_grid_policy_positive"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_policy")),
    )
    op.create_table(
        "support_standard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("freight_lead_days", sa.SmallInteger(), nullable=False),
        sa.Column("freight_return_days", sa.SmallInteger(), nullable=False),
        sa.Column("freight_transit_days", sa.SmallInteger(), nullable=False),
        sa.Column("freight_chaining", sa.Boolean(), nullable=False),
        sa.Column("support_tests", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.CheckConstraint(
            "freight_lead_days >= 0 AND freight_return_days >= 0 AND freight_transit_days >= 0",
            name=op.f("ck_support_standard_freight_days_positive"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_standard")),
        sa.UniqueConstraint("version", name=op.f("uq_support_standard_version")),
    )
    op.create_table(
        "chassis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("spare", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["customer_team.id"],
            name=op.f("fk_chassis_team_id_customer_team"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chassis")),
        sa.UniqueConstraint("serial", name=op.f("uq_chassis_serial")),
    )
    with op.batch_alter_table("chassis", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chassis_team_id"), ["team_id"], unique=False)

    op.create_table(
        "season",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("championship_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("calendar_source", sa.String(length=16), nullable=False),
        sa.Column("calendar_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["championship_id"],
            ["championship.id"],
            name=op.f("fk_season_championship_id_championship"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_season")),
        sa.UniqueConstraint("championship_id", "year", name=op.f("uq_season_championship_id_year")),
    )
    with op.batch_alter_table("season", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_season_championship_id"), ["championship_id"], unique=False
        )

    op.create_table(
        "support_standard_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("first_car", sa.SmallInteger(), nullable=False),
        sa.Column("per_additional_car", sa.SmallInteger(), nullable=False),
        sa.Column("per_spare_car", sa.SmallInteger(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("applies_at", sa.String(length=16), nullable=False),
        sa.Column("pool_basis", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "first_car >= 0 AND per_additional_car >= 0 AND per_spare_car >= 0 "
            "AND per_additional_car <= first_car",
            name=op.f("ck_support_standard_line_quantities"),
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["support_standard.id"],
            name=op.f("fk_support_standard_line_standard_id_support_standard"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_standard_line")),
        sa.UniqueConstraint(
            "standard_id", "position", name=op.f("uq_support_standard_line_standard_id_position")
        ),
    )
    with op.batch_alter_table("support_standard_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_standard_line_standard_id"), ["standard_id"], unique=False
        )

    op.create_table(
        "race_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("season_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=120), nullable=False),
        sa.Column("round_name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=80), nullable=False),
        sa.Column("venue", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=80), nullable=False),
        sa.Column("region", sa.String(length=40), nullable=False),
        sa.Column("race_start_date", sa.Date(), nullable=False),
        sa.Column("race_end_date", sa.Date(), nullable=False),
        sa.Column("setup_days", sa.SmallInteger(), nullable=False),
        sa.Column("travel_days", sa.SmallInteger(), nullable=False),
        sa.Column("is_test", sa.Boolean(), nullable=False),
        sa.Column("flyaway", sa.Boolean(), nullable=True),
        sa.CheckConstraint(
            "race_end_date >= race_start_date", name=op.f("ck_race_event_dates_ordered")
        ),
        sa.CheckConstraint(
            "setup_days >= 0 AND travel_days >= 0", name=op.f("ck_race_event_days_positive")
        ),
        sa.ForeignKeyConstraint(
            ["season_id"],
            ["season.id"],
            name=op.f("fk_race_event_season_id_season"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_race_event")),
        sa.UniqueConstraint("code", name=op.f("uq_race_event_code")),
    )
    with op.batch_alter_table("race_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_race_event_season_start", ["season_id", "race_start_date"], unique=False
        )

    op.create_table(
        "support_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("season_id", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column(
            "policy", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "capacity_snapshot",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "result", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["season_id"],
            ["season.id"],
            name=op.f("fk_support_decision_season_id_season"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["support_standard.id"],
            name=op.f("fk_support_decision_standard_id_support_standard"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_decision")),
    )
    with op.batch_alter_table("support_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_decision_season_id"), ["season_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_decision_standard_id"), ["standard_id"], unique=False
        )

    op.create_table(
        "support_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=40), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pool.id"], name=op.f("fk_support_pool_pool_id_pool"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_pool")),
        sa.UniqueConstraint("pool_id", name=op.f("uq_support_pool_pool_id")),
    )
    op.create_table(
        "support_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("season_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("base_region", sa.String(length=40), nullable=False),
        sa.Column("car_number", sa.String(length=8), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "reasons", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('new_team', 'additional_car', 'spare_car')",
            name=op.f("ck_support_request_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'accepted', 'declined', 'withdrawn')",
            name=op.f("ck_support_request_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["support_decision.id"],
            name=op.f("fk_support_request_decision_id_support_decision"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["season_id"],
            ["season.id"],
            name=op.f("fk_support_request_season_id_season"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["customer_team.id"],
            name=op.f("fk_support_request_team_id_customer_team"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_request")),
        sa.UniqueConstraint("code", name=op.f("uq_support_request_code")),
    )
    with op.batch_alter_table("support_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_request_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(
            "ix_support_request_season_status", ["season_id", "status"], unique=False
        )

    op.create_table(
        "team_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("season_id", sa.Integer(), nullable=False),
        sa.Column("car_number", sa.String(length=8), nullable=True),
        sa.Column("spare", sa.Boolean(), nullable=False),
        sa.Column("base_region", sa.String(length=40), nullable=False),
        sa.Column("chassis_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('entered', 'withdrawn')", name=op.f("ck_team_entry_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["chassis_id"],
            ["chassis.id"],
            name=op.f("fk_team_entry_chassis_id_chassis"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["support_request.id"],
            name=op.f("fk_team_entry_request_id_support_request"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["season_id"],
            ["season.id"],
            name=op.f("fk_team_entry_season_id_season"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["customer_team.id"],
            name=op.f("fk_team_entry_team_id_customer_team"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_entry")),
        sa.UniqueConstraint(
            "season_id", "car_number", name=op.f("uq_team_entry_season_id_car_number")
        ),
    )
    with op.batch_alter_table("team_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_entry_chassis_id"), ["chassis_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_team_entry_request_id"), ["request_id"], unique=False)
        batch_op.create_index("ix_team_entry_season_status", ["season_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_team_entry_team_id"), ["team_id"], unique=False)

    op.create_table(
        "race_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "position IS NULL OR position >= 1", name=op.f("ck_race_result_position_positive")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["team_entry.id"],
            name=op.f("fk_race_result_entry_id_team_entry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["race_event.id"],
            name=op.f("fk_race_result_event_id_race_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_race_result")),
        sa.UniqueConstraint("entry_id", "event_id", name=op.f("uq_race_result_entry_id_event_id")),
    )
    with op.batch_alter_table("race_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_race_result_event_id"), ["event_id"], unique=False)

    op.create_table(
        "support_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("promised", sa.SmallInteger(), nullable=False),
        sa.Column("delivered", sa.SmallInteger(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.CheckConstraint(
            "promised >= 0 AND delivered >= 0", name=op.f("ck_support_delivery_counts_positive")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["team_entry.id"],
            name=op.f("fk_support_delivery_entry_id_team_entry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["race_event.id"],
            name=op.f("fk_support_delivery_event_id_race_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_delivery")),
        sa.UniqueConstraint(
            "entry_id", "event_id", "kind", name=op.f("uq_support_delivery_entry_id_event_id_kind")
        ),
    )
    with op.batch_alter_table("support_delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_delivery_event_id"), ["event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("support_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_delivery_event_id"))

    op.drop_table("support_delivery")
    with op.batch_alter_table("race_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_race_result_event_id"))

    op.drop_table("race_result")
    with op.batch_alter_table("team_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_entry_team_id"))
        batch_op.drop_index("ix_team_entry_season_status")
        batch_op.drop_index(batch_op.f("ix_team_entry_request_id"))
        batch_op.drop_index(batch_op.f("ix_team_entry_chassis_id"))

    op.drop_table("team_entry")
    with op.batch_alter_table("support_request", schema=None) as batch_op:
        batch_op.drop_index("ix_support_request_season_status")
        batch_op.drop_index(batch_op.f("ix_support_request_decision_id"))

    op.drop_table("support_request")
    op.drop_table("support_pool")
    with op.batch_alter_table("support_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_decision_standard_id"))
        batch_op.drop_index(batch_op.f("ix_support_decision_season_id"))

    op.drop_table("support_decision")
    with op.batch_alter_table("race_event", schema=None) as batch_op:
        batch_op.drop_index("ix_race_event_season_start")

    op.drop_table("race_event")
    with op.batch_alter_table("support_standard_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_standard_line_standard_id"))

    op.drop_table("support_standard_line")
    with op.batch_alter_table("season", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_season_championship_id"))

    op.drop_table("season")
    with op.batch_alter_table("chassis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chassis_team_id"))

    op.drop_table("chassis")
    op.drop_table("support_standard")
    op.drop_table("grid_policy")
    op.drop_table("customer_team")
    op.drop_table("championship")
