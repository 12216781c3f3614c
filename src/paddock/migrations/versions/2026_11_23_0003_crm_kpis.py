"""crm, webhooks and KPIs: people, consents, booking links, vehicles, sales, conversions;
dealers' webhook endpoints, the outbox and its delivery log (filled by a trigger on
audit_entry); indexes for the KPI queries

Revision ID: 0003_crm_kpis
Revises: 0002_accounts_dealers
Create Date: 2026-11-23 13:08:50.097745
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Booking changes that dealers' CRMs hear about (audit actions written by bookings.service).
EVENT_ACTIONS = (
    "('held', 'confirmed', 'moved', 'cancelled', 'checked_in', 'completed', 'no_show', 'expired')"
)
OUTBOX_COLUMNS = (
    "endpoint_id, dealer_id, booking_id, audit_entry_id, event_type, occurred_at, status, "
    "attempts, next_attempt_at, last_error, created_at"
)
# The outbox row is written by the database in the transaction that writes the audit entry of
# a booking change, for bookings attributed to a dealer with an active endpoint. A hold or a
# confirmation without a previous status is the booking's creation.
SQLITE_TRIGGER = f"""
CREATE TRIGGER trg_audit_entry_webhook_outbox AFTER INSERT ON audit_entry
WHEN NEW.subject_kind = 'booking' AND NEW.action IN {EVENT_ACTIONS}
BEGIN
    INSERT INTO webhook_event ({OUTBOX_COLUMNS})
    SELECT w.id, a.dealer_id, NEW.subject_id, NEW.id,
        CASE WHEN NEW.action IN ('held', 'confirmed')
                AND json_extract(NEW.data, '$.previous') IS NULL
            THEN 'booking.created' ELSE 'booking.' || NEW.action END,
        NEW.at, 'pending', 0,
        strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000', '',
        strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000'
    FROM booking_attribution a
    JOIN webhook_endpoint w ON w.dealer_id = a.dealer_id AND w.active
    WHERE a.booking_id = NEW.subject_id;
END
"""
POSTGRES_FUNCTION = f"""
CREATE FUNCTION webhook_outbox_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_event ({OUTBOX_COLUMNS})
    SELECT w.id, a.dealer_id, NEW.subject_id, NEW.id,
        CASE WHEN NEW.action IN ('held', 'confirmed') AND NEW.data->>'previous' IS NULL
            THEN 'booking.created' ELSE 'booking.' || NEW.action END,
        NEW.at, 'pending', 0, now(), '', now()
    FROM booking_attribution a
    JOIN webhook_endpoint w ON w.dealer_id = a.dealer_id AND w.active
    WHERE a.booking_id = NEW.subject_id;
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGER = f"""
CREATE TRIGGER trg_audit_entry_webhook_outbox AFTER INSERT ON audit_entry FOR EACH ROW
WHEN (NEW.subject_kind = 'booking' AND NEW.action IN {EVENT_ACTIONS})
EXECUTE FUNCTION webhook_outbox_from_audit()
"""

revision: str = "0003_crm_kpis"
down_revision: str | Sequence[str] | None = "0002_accounts_dealers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_sync_cursor",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("safe_id", sa.Integer(), nullable=False),
        sa.Column("pending_id", sa.Integer(), nullable=False),
        sa.Column("pending_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_crm_sync_cursor")),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=True),
        sa.Column("consent_marketing_email", sa.Boolean(), nullable=False),
        sa.Column("consent_marketing_email_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_phone", sa.Boolean(), nullable=False),
        sa.Column("consent_phone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_dealer_sharing", sa.Boolean(), nullable=False),
        sa.Column("consent_dealer_sharing_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('prospect', 'client')", name=op.f("ck_person_kind_known")),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealer.id"],
            name=op.f("fk_person_dealer_id_dealer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["person.id"], name=op.f("fk_person_merged_into_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("email", name=op.f("uq_person_email")),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index("ix_person_dealer_id", ["dealer_id", "id"], unique=False)

    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealer.id"],
            name=op.f("fk_webhook_endpoint_dealer_id_dealer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
        sa.UniqueConstraint("dealer_id", name=op.f("uq_webhook_endpoint_dealer_id")),
    )
    op.create_table(
        "booking_person",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind_at_visit", sa.String(length=16), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_booking_person_booking_id_booking"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_booking_person_person_id_person"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_booking_person")),
    )
    with op.batch_alter_table("booking_person", schema=None) as batch_op:
        batch_op.create_index("ix_booking_person_person", ["person_id", "booking_id"], unique=False)

    op.create_table(
        "person_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('marketing_email', 'phone', 'dealer_sharing')",
            name=op.f("ck_person_consent_purpose_known"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_person_consent_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_consent")),
    )
    with op.batch_alter_table("person_consent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_consent_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "vehicle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("vin", sa.String(length=17), nullable=True),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("bought_at", sa.Date(), nullable=True),
        sa.Column("dealer_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("delivery_booking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealer.id"],
            name=op.f("fk_vehicle_dealer_id_dealer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_booking_id"],
            ["booking.id"],
            name=op.f("fk_vehicle_delivery_booking_id_booking"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_vehicle_person_id_person"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_vehicle_unit_id_unit"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicle")),
        sa.UniqueConstraint("person_id", "vin", name=op.f("uq_vehicle_person_id_vin")),
    )
    with op.batch_alter_table("vehicle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vehicle_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_vehicle_vin", ["vin"], unique=False)

    op.create_table(
        "webhook_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("audit_entry_id", sa.Integer(), nullable=True),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoint.id"],
            name=op.f("fk_webhook_event_endpoint_id_webhook_endpoint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event")),
    )
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_event_booking", ["endpoint_id", "booking_id", "id"], unique=False
        )
        batch_op.create_index("ix_webhook_event_dealer", ["dealer_id", "id"], unique=False)
        batch_op.create_index("ix_webhook_event_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "sale",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=True),
        sa.Column("external_ref", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("vin", sa.String(length=17), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("sold_at", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reported_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealer.id"], name=op.f("fk_sale_dealer_id_dealer"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_sale_person_id_person"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicle.id"],
            name=op.f("fk_sale_vehicle_id_vehicle"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale")),
        sa.UniqueConstraint(
            "dealer_id", "external_ref", name=op.f("uq_sale_dealer_id_external_ref")
        ),
    )
    with op.batch_alter_table("sale", schema=None) as batch_op:
        batch_op.create_index("ix_sale_person", ["person_id", "sold_at"], unique=False)
        batch_op.create_index("ix_sale_sold_at", ["sold_at"], unique=False)

    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_event.id"],
            name=op.f("fk_webhook_attempt_event_id_webhook_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_attempt_event_id"), ["event_id"], unique=False)

    op.create_table(
        "conversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=True),
        sa.Column("visit_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("converted_at", sa.Date(), nullable=False),
        sa.Column("days_after_visit", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_conversion_booking_id_booking"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealer.id"],
            name=op.f("fk_conversion_dealer_id_dealer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_conversion_person_id_person"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["sale.id"], name=op.f("fk_conversion_sale_id_sale"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversion")),
        sa.UniqueConstraint("sale_id", name=op.f("uq_conversion_sale_id")),
    )
    with op.batch_alter_table("conversion", schema=None) as batch_op:
        batch_op.create_index("ix_conversion_booking", ["booking_id"], unique=False)
        batch_op.create_index("ix_conversion_dealer", ["dealer_id", "converted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_conversion_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_conversion_visit_at", ["visit_at"], unique=False)

    with op.batch_alter_table("booking", schema=None) as batch_op:
        # KPIs count bookings by start, product and status: an index-only range scan.
        batch_op.create_index("ix_booking_kpi", ["starts_at", "product_id", "status"])
        # People are found by e-mail whatever its case.
        batch_op.create_index("ix_booking_guest_email_lower", [sa.text("lower(guest_email)")])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS trg_audit_entry_webhook_outbox"
        + (" ON audit_entry" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS webhook_outbox_from_audit()")
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_guest_email_lower")
        batch_op.drop_index("ix_booking_kpi")
    with op.batch_alter_table("conversion", schema=None) as batch_op:
        batch_op.drop_index("ix_conversion_visit_at")
        batch_op.drop_index(batch_op.f("ix_conversion_person_id"))
        batch_op.drop_index("ix_conversion_dealer")
        batch_op.drop_index("ix_conversion_booking")

    op.drop_table("conversion")
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_attempt_event_id"))

    op.drop_table("webhook_attempt")
    with op.batch_alter_table("sale", schema=None) as batch_op:
        batch_op.drop_index("ix_sale_sold_at")
        batch_op.drop_index("ix_sale_person")

    op.drop_table("sale")
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_event_due")
        batch_op.drop_index("ix_webhook_event_dealer")
        batch_op.drop_index("ix_webhook_event_booking")

    op.drop_table("webhook_event")
    with op.batch_alter_table("vehicle", schema=None) as batch_op:
        batch_op.drop_index("ix_vehicle_vin")
        batch_op.drop_index(batch_op.f("ix_vehicle_person_id"))

    op.drop_table("vehicle")
    with op.batch_alter_table("person_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_consent_person_id"))

    op.drop_table("person_consent")
    with op.batch_alter_table("booking_person", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_person_person")

    op.drop_table("booking_person")
    op.drop_table("webhook_endpoint")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_dealer_id")

    op.drop_table("person")
    op.drop_table("crm_sync_cursor")
