"""The mail outbox (mail_message), filled by a trigger on audit_entry for a booking's
confirmation, move and cancellation; password reset tokens (password_reset)

Revision ID: 0013_mail_outbox
Revises: 0012_date_columns_named_on
Create Date: 2026-12-08 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_mail_outbox"
down_revision: str | Sequence[str] | None = "0012_date_columns_named_on"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The booking changes a guest hears of; a hold cancelled before it was confirmed is not one.
SQLITE_TRIGGER = """
CREATE TRIGGER trg_audit_entry_mail_outbox AFTER INSERT ON audit_entry
WHEN NEW.subject_kind = 'booking' AND (NEW.action IN ('confirmed', 'moved')
    OR (NEW.action = 'cancelled'
        AND coalesce(json_extract(NEW.data, '$.previous'), '') <> 'held'))
BEGIN
    INSERT INTO mail_message (kind, booking_id, audit_entry_id, recipient, status, attempts,
        next_attempt_at, last_error, subject, created_at)
    VALUES ('booking_' || NEW.action, NEW.subject_id, NEW.id, '', 'pending', 0,
        strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000', '', '',
        strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000');
END
"""
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION mail_outbox_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mail_message (kind, booking_id, audit_entry_id, recipient, status, attempts, next_attempt_at, last_error, subject, created_at)
    VALUES ('booking_' || NEW.action, NEW.subject_id, NEW.id, '', 'pending', 0, now(), '', '', now());
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGER = """
CREATE TRIGGER trg_audit_entry_mail_outbox AFTER INSERT ON audit_entry FOR EACH ROW
WHEN (NEW.subject_kind = 'booking' AND (NEW.action IN ('confirmed', 'moved')
    OR (NEW.action = 'cancelled' AND coalesce(NEW.data->>'previous', '') <> 'held')))
EXECUTE FUNCTION mail_outbox_from_audit()
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    json_type = postgresql.JSONB() if postgres else sa.JSON()
    op.create_table(
        "mail_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("audit_entry_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("payload", json_type, nullable=True),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_message")),
    )
    op.create_index("ix_mail_message_due", "mail_message", ["status", "next_attempt_at"])
    op.create_index(
        "uq_mail_message_dedupe_key",
        "mail_message",
        ["dedupe_key"],
        unique=True,
        sqlite_where=sa.text("dedupe_key IS NOT NULL"),
        postgresql_where=sa.text("dedupe_key IS NOT NULL"),
    )
    op.create_table(
        "password_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_password_reset_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_reset_token_hash")),
    )
    op.create_index("ix_password_reset_user_id", "password_reset", ["user_id"])
    if postgres:
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS trg_audit_entry_mail_outbox ON audit_entry"
        if op.get_bind().dialect.name == "postgresql"
        else "DROP TRIGGER IF EXISTS trg_audit_entry_mail_outbox"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS mail_outbox_from_audit()")
    op.drop_index("ix_password_reset_user_id", table_name="password_reset")
    op.drop_table("password_reset")
    op.drop_index("uq_mail_message_dedupe_key", table_name="mail_message")
    op.drop_index("ix_mail_message_due", table_name="mail_message")
    op.drop_table("mail_message")
