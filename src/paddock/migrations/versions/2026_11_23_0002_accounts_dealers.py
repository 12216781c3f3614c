"""accounts and dealers: users, sessions, API tokens, dealers, allotments, campaigns,
invitation codes, invitees, booking attribution

Revision ID: 0002_accounts_dealers
Revises: 0001_core
Create Date: 2026-11-23 13:04:29.143999
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_accounts_dealers"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dealer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("home_site_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("monthly_allotment", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("monthly_allotment >= 0", name=op.f("ck_dealer_allotment_not_negative")),
        sa.ForeignKeyConstraint(
            ["home_site_id"],
            ["site.id"],
            name=op.f("fk_dealer_home_site_id_site"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dealer")),
        sa.UniqueConstraint("code", name=op.f("uq_dealer_code")),
    )
    with op.batch_alter_table("dealer", schema=None) as batch_op:
        batch_op.create_index("ix_dealer_region", ["region", "code"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealer.id"],
            name=op.f("fk_api_token_dealer_id_dealer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index("ix_api_token_dealer", ["dealer_id", "id"], unique=False)

    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("drive_from", sa.Date(), nullable=False),
        sa.Column("drive_to", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("drive_to >= drive_from", name=op.f("ck_campaign_drive_dates_ordered")),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealer.id"],
            name=op.f("fk_campaign_dealer_id_dealer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_dealer", ["dealer_id", "id"], unique=False)

    op.create_table(
        "dealer_allotment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("places >= 0", name=op.f("ck_dealer_allotment_places_not_negative")),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealer.id"],
            name=op.f("fk_dealer_allotment_dealer_id_dealer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pool.id"],
            name=op.f("fk_dealer_allotment_pool_id_pool"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
            name=op.f("fk_dealer_allotment_site_id_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dealer_allotment")),
        sa.UniqueConstraint(
            "dealer_id",
            "site_id",
            "month",
            name=op.f("uq_dealer_allotment_dealer_id_site_id_month"),
        ),
        sa.UniqueConstraint("pool_id", name=op.f("uq_dealer_allotment_pool_id")),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(role = 'dealer' AND dealer_id IS NOT NULL)"
            " OR (role <> 'dealer' AND dealer_id IS NULL)",
            name=op.f("ck_user_account_dealer_staff_have_dealer"),
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'operations', 'coach', 'dealer', 'motorsport')",
            name=op.f("ck_user_account_role_known"),
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealer.id"],
            name=op.f("fk_user_account_dealer_id_dealer"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index("ix_user_account_dealer", ["dealer_id"], unique=False)

    op.create_table(
        "campaign_product",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_campaign_product_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_campaign_product_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "product_id", name=op.f("pk_campaign_product")),
    )
    op.create_table(
        "invitee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("consent_marketing", sa.Boolean(), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_invitee_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealer.id"],
            name=op.f("fk_invitee_dealer_id_dealer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitee")),
        sa.UniqueConstraint(
            "campaign_id", "email_key", name=op.f("uq_invitee_campaign_id_email_key")
        ),
    )
    with op.batch_alter_table("invitee", schema=None) as batch_op:
        batch_op.create_index("ix_invitee_dealer", ["dealer_id", "id"], unique=False)

    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_user_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_session_token_hash")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_session_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "invitation_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("invitee_id", sa.Integer(), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("drive_from", sa.Date(), nullable=True),
        sa.Column("drive_to", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('shared', 'personal')", name=op.f("ck_invitation_code_kind_known")
        ),
        sa.CheckConstraint(
            "max_uses IS NULL OR max_uses > 0", name=op.f("ck_invitation_code_max_uses_positive")
        ),
        sa.CheckConstraint(
            "max_uses IS NULL OR uses <= max_uses", name=op.f("ck_invitation_code_uses_within_max")
        ),
        sa.CheckConstraint("uses >= 0", name=op.f("ck_invitation_code_uses_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_invitation_code_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealer.id"],
            name=op.f("fk_invitation_code_dealer_id_dealer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invitee_id"],
            ["invitee.id"],
            name=op.f("fk_invitation_code_invitee_id_invitee"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_code")),
        sa.UniqueConstraint("code", name=op.f("uq_invitation_code_code")),
        sa.UniqueConstraint("invitee_id", name=op.f("uq_invitation_code_invitee_id")),
    )
    with op.batch_alter_table("invitation_code", schema=None) as batch_op:
        batch_op.create_index("ix_invitation_code_campaign", ["campaign_id", "id"], unique=False)
        batch_op.create_index("ix_invitation_code_dealer", ["dealer_id", "id"], unique=False)

    op.create_table(
        "booking_attribution",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("invitation_code_id", sa.Integer(), nullable=True),
        sa.Column("invitee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_booking_attribution_booking_id_booking"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealer.id"],
            name=op.f("fk_booking_attribution_dealer_id_dealer"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invitation_code_id"],
            ["invitation_code.id"],
            name=op.f("fk_booking_attribution_invitation_code_id_invitation_code"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invitee_id"],
            ["invitee.id"],
            name=op.f("fk_booking_attribution_invitee_id_invitee"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_booking_attribution")),
    )
    with op.batch_alter_table("booking_attribution", schema=None) as batch_op:
        batch_op.create_index(
            "ix_booking_attribution_dealer", ["dealer_id", "booking_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_booking_attribution_invitation_code_id"),
            ["invitation_code_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_booking_attribution_invitee_id"), ["invitee_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("booking_attribution", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_attribution_invitee_id"))
        batch_op.drop_index(batch_op.f("ix_booking_attribution_invitation_code_id"))
        batch_op.drop_index("ix_booking_attribution_dealer")

    op.drop_table("booking_attribution")
    with op.batch_alter_table("invitation_code", schema=None) as batch_op:
        batch_op.drop_index("ix_invitation_code_dealer")
        batch_op.drop_index("ix_invitation_code_campaign")

    op.drop_table("invitation_code")
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))
        batch_op.drop_index(batch_op.f("ix_user_session_expires_at"))

    op.drop_table("user_session")
    with op.batch_alter_table("invitee", schema=None) as batch_op:
        batch_op.drop_index("ix_invitee_dealer")

    op.drop_table("invitee")
    op.drop_table("campaign_product")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index("ix_user_account_dealer")

    op.drop_table("user_account")
    op.drop_table("dealer_allotment")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_dealer")

    op.drop_table("campaign")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index("ix_api_token_dealer")

    op.drop_table("api_token")
    with op.batch_alter_table("dealer", schema=None) as batch_op:
        batch_op.drop_index("ix_dealer_region")

    op.drop_table("dealer")
