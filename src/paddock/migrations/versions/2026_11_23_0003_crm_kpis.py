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
POSTGRES_FUNCTION = """
CREATE FUNCTION webhook_outbox_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_event (endpoint_id, dealer_id, booking_id, audit_entry_id, event_type, occurred_at, status, attempts, next_attempt_at, last_error, created_at)
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

# The KPI rollup (paddock.rollup): triggers append deltas in the writer's own transaction.
NOT_RESOURCES = "('dealer_allotment', 'customer_vehicle')"
CELL = "day, product_id, status, dealer_id, kind, n"
SQLITE_DEALER = "coalesce((SELECT dealer_id FROM booking_attribution WHERE booking_id = {b}), 0)"
SQLITE_KIND = "coalesce((SELECT kind_at_visit FROM booking_person WHERE booking_id = {b}), '')"


def _sqlite_cell(row: str, dealer: str, kind: str, n: int) -> str:
    return (
        f"INSERT INTO kpi_booking_delta ({CELL}) VALUES "
        f"(date({row}.starts_at), {row}.product_id, {row}.status, {dealer}, {kind}, {n});"
    )


def _sqlite_moved(booking_id: str, dealer: str, kind: str, n: int) -> str:
    return (
        f"INSERT INTO kpi_booking_delta ({CELL}) SELECT date(b.starts_at), b.product_id, "
        f"b.status, {dealer}, {kind}, {n} FROM booking b WHERE b.id = {booking_id};"
    )


def _sqlite_split(row: str, sign: int) -> str:
    start = f"julianday(date({row}.starts_at)) + k.n"
    return (
        "INSERT INTO kpi_unit_delta (day, unit_id, seconds) "
        f"SELECT date({start}), {row}.unit_id, {sign} * CAST(round((min(julianday({row}.ends_at), "
        f"{start} + 1) - max(julianday({row}.starts_at), {start})) * 86400) AS INTEGER) "
        f"FROM kpi_day_number k WHERE k.n <= CAST(julianday({row}.ends_at) - "
        f"julianday(date({row}.starts_at)) AS INTEGER) AND {start} < julianday({row}.ends_at) "
        f"AND {row}.active AND {row}.engagement_kind <> 'blocked' "
        f"AND (SELECT kind FROM pool WHERE id = {row}.pool_id) NOT IN {NOT_RESOURCES};"
    )


def sqlite_rollup_triggers() -> list[str]:
    new_dealer, new_kind = SQLITE_DEALER.format(b="NEW.id"), SQLITE_KIND.format(b="NEW.id")
    old_dealer, old_kind = SQLITE_DEALER.format(b="OLD.id"), SQLITE_KIND.format(b="OLD.id")
    b_dealer, b_kind = SQLITE_DEALER.format(b="b.id"), SQLITE_KIND.format(b="b.id")
    return [
        "CREATE TRIGGER trg_booking_kpi_insert AFTER INSERT ON booking BEGIN "
        + _sqlite_cell("NEW", new_dealer, new_kind, 1)
        + " END",
        "CREATE TRIGGER trg_booking_kpi_update AFTER UPDATE OF status, starts_at, product_id "
        "ON booking WHEN OLD.status IS NOT NEW.status OR date(OLD.starts_at) IS NOT "
        "date(NEW.starts_at) OR OLD.product_id IS NOT NEW.product_id BEGIN "
        + _sqlite_cell("OLD", new_dealer, new_kind, -1)
        + _sqlite_cell("NEW", new_dealer, new_kind, 1)
        + " END",
        "CREATE TRIGGER trg_booking_kpi_delete BEFORE DELETE ON booking BEGIN "
        + _sqlite_cell("OLD", old_dealer, old_kind, -1)
        + " END",
        "CREATE TRIGGER trg_booking_attribution_kpi_insert AFTER INSERT ON booking_attribution "
        "BEGIN "
        + _sqlite_moved("NEW.booking_id", "0", b_kind, -1)
        + _sqlite_moved("NEW.booking_id", "NEW.dealer_id", b_kind, 1)
        + " END",
        "CREATE TRIGGER trg_booking_attribution_kpi_update AFTER UPDATE OF dealer_id "
        "ON booking_attribution WHEN OLD.dealer_id IS NOT NEW.dealer_id BEGIN "
        + _sqlite_moved("NEW.booking_id", "OLD.dealer_id", b_kind, -1)
        + _sqlite_moved("NEW.booking_id", "NEW.dealer_id", b_kind, 1)
        + " END",
        "CREATE TRIGGER trg_booking_attribution_kpi_delete AFTER DELETE ON booking_attribution "
        "BEGIN "
        + _sqlite_moved("OLD.booking_id", "OLD.dealer_id", b_kind, -1)
        + _sqlite_moved("OLD.booking_id", "0", b_kind, 1)
        + " END",
        "CREATE TRIGGER trg_booking_person_kpi_insert AFTER INSERT ON booking_person BEGIN "
        + _sqlite_moved("NEW.booking_id", b_dealer, "''", -1)
        + _sqlite_moved("NEW.booking_id", b_dealer, "NEW.kind_at_visit", 1)
        + " END",
        "CREATE TRIGGER trg_booking_person_kpi_update AFTER UPDATE OF kind_at_visit "
        "ON booking_person WHEN OLD.kind_at_visit IS NOT NEW.kind_at_visit BEGIN "
        + _sqlite_moved("NEW.booking_id", b_dealer, "OLD.kind_at_visit", -1)
        + _sqlite_moved("NEW.booking_id", b_dealer, "NEW.kind_at_visit", 1)
        + " END",
        "CREATE TRIGGER trg_booking_person_kpi_delete AFTER DELETE ON booking_person BEGIN "
        + _sqlite_moved("OLD.booking_id", b_dealer, "OLD.kind_at_visit", -1)
        + _sqlite_moved("OLD.booking_id", b_dealer, "''", 1)
        + " END",
        "CREATE TRIGGER trg_allocation_kpi_insert AFTER INSERT ON allocation WHEN NEW.active "
        "BEGIN " + _sqlite_split("NEW", 1) + " END",
        "CREATE TRIGGER trg_allocation_kpi_update AFTER UPDATE OF active, starts_at, ends_at, "
        "unit_id ON allocation WHEN OLD.active IS NOT NEW.active OR OLD.starts_at IS NOT "
        "NEW.starts_at OR OLD.ends_at IS NOT NEW.ends_at OR OLD.unit_id IS NOT NEW.unit_id "
        "BEGIN " + _sqlite_split("OLD", -1) + _sqlite_split("NEW", 1) + " END",
        "CREATE TRIGGER trg_allocation_kpi_delete BEFORE DELETE ON allocation WHEN OLD.active "
        "BEGIN " + _sqlite_split("OLD", -1) + " END",
    ]


PG_DAY = "({row}.starts_at AT TIME ZONE 'UTC')::date"
POSTGRES_ROLLUP = [
    """
CREATE FUNCTION kpi_booking_cell() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bid integer;
    dealer integer;
    kind text;
BEGIN
    IF TG_OP = 'DELETE' THEN bid := OLD.id; ELSE bid := NEW.id; END IF;
    dealer := coalesce((SELECT dealer_id FROM booking_attribution WHERE booking_id = bid), 0);
    kind := coalesce((SELECT kind_at_visit FROM booking_person WHERE booking_id = bid), '');
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO kpi_booking_delta (day, product_id, status, dealer_id, kind, n) VALUES
            ((OLD.starts_at AT TIME ZONE 'UTC')::date, OLD.product_id, OLD.status, dealer, kind, -1);
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    INSERT INTO kpi_booking_delta (day, product_id, status, dealer_id, kind, n) VALUES
        ((NEW.starts_at AT TIME ZONE 'UTC')::date, NEW.product_id, NEW.status, dealer, kind, 1);
    RETURN NULL;
END
$$
""",
    "CREATE TRIGGER trg_booking_kpi_insert AFTER INSERT ON booking FOR EACH ROW "
    "EXECUTE FUNCTION kpi_booking_cell()",
    "CREATE TRIGGER trg_booking_kpi_update AFTER UPDATE OF status, starts_at, product_id "
    "ON booking FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status "
    f"OR {PG_DAY.format(row='OLD')} <> {PG_DAY.format(row='NEW')} "
    "OR OLD.product_id IS DISTINCT FROM NEW.product_id) EXECUTE FUNCTION kpi_booking_cell()",
    "CREATE TRIGGER trg_booking_kpi_delete BEFORE DELETE ON booking FOR EACH ROW "
    "EXECUTE FUNCTION kpi_booking_cell()",
    """
CREATE FUNCTION kpi_booking_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bid integer;
    old_dealer integer;
    new_dealer integer;
    old_kind text;
    new_kind text;
BEGIN
    IF TG_OP = 'DELETE' THEN bid := OLD.booking_id; ELSE bid := NEW.booking_id; END IF;
    IF TG_TABLE_NAME = 'booking_attribution' THEN
        old_dealer := CASE WHEN TG_OP = 'INSERT' THEN 0 ELSE OLD.dealer_id END;
        new_dealer := CASE WHEN TG_OP = 'DELETE' THEN 0 ELSE NEW.dealer_id END;
        INSERT INTO kpi_booking_delta (day, product_id, status, dealer_id, kind, n)
        SELECT (b.starts_at AT TIME ZONE 'UTC')::date, b.product_id, b.status, m.dealer,
            coalesce((SELECT kind_at_visit FROM booking_person WHERE booking_id = b.id), ''), m.n
        FROM booking b CROSS JOIN (VALUES (old_dealer, -1), (new_dealer, 1)) AS m(dealer, n)
        WHERE b.id = bid AND old_dealer IS DISTINCT FROM new_dealer;
    ELSE
        old_kind := CASE WHEN TG_OP = 'INSERT' THEN '' ELSE OLD.kind_at_visit END;
        new_kind := CASE WHEN TG_OP = 'DELETE' THEN '' ELSE NEW.kind_at_visit END;
        INSERT INTO kpi_booking_delta (day, product_id, status, dealer_id, kind, n)
        SELECT (b.starts_at AT TIME ZONE 'UTC')::date, b.product_id, b.status,
            coalesce((SELECT dealer_id FROM booking_attribution WHERE booking_id = b.id), 0),
            m.kind, m.n
        FROM booking b CROSS JOIN (VALUES (old_kind, -1), (new_kind, 1)) AS m(kind, n)
        WHERE b.id = bid AND old_kind IS DISTINCT FROM new_kind;
    END IF;
    RETURN NULL;
END
$$
""",
    "CREATE TRIGGER trg_booking_attribution_kpi AFTER INSERT OR DELETE OR UPDATE OF dealer_id "
    "ON booking_attribution FOR EACH ROW EXECUTE FUNCTION kpi_booking_moved()",
    "CREATE TRIGGER trg_booking_person_kpi AFTER INSERT OR DELETE OR UPDATE OF kind_at_visit "
    "ON booking_person FOR EACH ROW EXECUTE FUNCTION kpi_booking_moved()",
    """
CREATE FUNCTION kpi_unit_split(
    p_starts timestamptz, p_ends timestamptz, p_unit integer, p_pool integer, p_sign integer
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO kpi_unit_delta (day, unit_id, seconds)
    SELECT d::date, p_unit, p_sign * round(extract(epoch FROM
        least(p_ends AT TIME ZONE 'UTC', d + interval '1 day')
        - greatest(p_starts AT TIME ZONE 'UTC', d)))::bigint
    FROM generate_series(date_trunc('day', p_starts AT TIME ZONE 'UTC'),
        (p_ends AT TIME ZONE 'UTC') - interval '1 microsecond', interval '1 day') AS d
    WHERE (SELECT p.kind FROM pool p WHERE p.id = p_pool) NOT IN ('dealer_allotment', 'customer_vehicle')
$$
""",
    """
CREATE FUNCTION kpi_allocation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.active AND OLD.engagement_kind <> 'blocked' THEN
        PERFORM kpi_unit_split(OLD.starts_at, OLD.ends_at, OLD.unit_id, OLD.pool_id, -1);
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    IF NEW.active AND NEW.engagement_kind <> 'blocked' THEN
        PERFORM kpi_unit_split(NEW.starts_at, NEW.ends_at, NEW.unit_id, NEW.pool_id, 1);
    END IF;
    RETURN NULL;
END
$$
""",
    "CREATE TRIGGER trg_allocation_kpi_insert AFTER INSERT ON allocation FOR EACH ROW "
    "WHEN (NEW.active) EXECUTE FUNCTION kpi_allocation_changed()",
    "CREATE TRIGGER trg_allocation_kpi_update AFTER UPDATE OF active, starts_at, ends_at, unit_id "
    "ON allocation FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active "
    "OR OLD.starts_at IS DISTINCT FROM NEW.starts_at OR OLD.ends_at IS DISTINCT FROM NEW.ends_at "
    "OR OLD.unit_id IS DISTINCT FROM NEW.unit_id) EXECUTE FUNCTION kpi_allocation_changed()",
    "CREATE TRIGGER trg_allocation_kpi_delete BEFORE DELETE ON allocation FOR EACH ROW "
    "WHEN (OLD.active) EXECUTE FUNCTION kpi_allocation_changed()",
]
ROLLUP_TRIGGERS = {
    "booking": ("trg_booking_kpi_insert", "trg_booking_kpi_update", "trg_booking_kpi_delete"),
    "allocation": (
        "trg_allocation_kpi_insert",
        "trg_allocation_kpi_update",
        "trg_allocation_kpi_delete",
    ),
}
SQLITE_ONLY_TRIGGERS = {
    "booking_attribution": (
        "trg_booking_attribution_kpi_insert",
        "trg_booking_attribution_kpi_update",
        "trg_booking_attribution_kpi_delete",
    ),
    "booking_person": (
        "trg_booking_person_kpi_insert",
        "trg_booking_person_kpi_update",
        "trg_booking_person_kpi_delete",
    ),
}
POSTGRES_ONLY_TRIGGERS = {
    "booking_attribution": ("trg_booking_attribution_kpi",),
    "booking_person": ("trg_booking_person_kpi",),
}
POSTGRES_FUNCTIONS = (
    "kpi_allocation_changed()",
    "kpi_unit_split(timestamptz, timestamptz, integer, integer, integer)",
    "kpi_booking_moved()",
    "kpi_booking_cell()",
)
FILL = {
    "postgresql": [
        f"INSERT INTO kpi_booking_day ({CELL}) "
        "SELECT (b.starts_at AT TIME ZONE 'UTC')::date, b.product_id, b.status, "
        "coalesce(a.dealer_id, 0), coalesce(bp.kind_at_visit, ''), count(*) FROM booking b "
        "LEFT JOIN booking_attribution a ON a.booking_id = b.id "
        "LEFT JOIN booking_person bp ON bp.booking_id = b.id GROUP BY 1, 2, 3, 4, 5",
        "INSERT INTO kpi_booking_month (month, product_id, status, attributed, kind, n) "
        "SELECT date_trunc('month', day)::date, product_id, status, "
        "CASE WHEN dealer_id <> 0 THEN 1 ELSE 0 END, kind, sum(n) FROM kpi_booking_day "
        "GROUP BY 1, 2, 3, 4, 5",
        "INSERT INTO kpi_unit_day (day, unit_id, seconds) "
        "SELECT d::date, a.unit_id, sum(round(extract(epoch FROM "
        "least(a.ends_at AT TIME ZONE 'UTC', d + interval '1 day') "
        "- greatest(a.starts_at AT TIME ZONE 'UTC', d))))::bigint "
        "FROM allocation a JOIN pool p ON p.id = a.pool_id "
        "CROSS JOIN LATERAL generate_series(date_trunc('day', a.starts_at AT TIME ZONE 'UTC'), "
        "(a.ends_at AT TIME ZONE 'UTC') - interval '1 microsecond', interval '1 day') AS d "
        "WHERE a.active AND a.engagement_kind <> 'blocked' "
        f"AND p.kind NOT IN {NOT_RESOURCES} GROUP BY 1, 2",
    ],
    "sqlite": [
        f"INSERT INTO kpi_booking_day ({CELL}) "
        "SELECT date(b.starts_at), b.product_id, b.status, coalesce(a.dealer_id, 0), "
        "coalesce(bp.kind_at_visit, ''), count(*) FROM booking b "
        "LEFT JOIN booking_attribution a ON a.booking_id = b.id "
        "LEFT JOIN booking_person bp ON bp.booking_id = b.id GROUP BY 1, 2, 3, 4, 5",
        "INSERT INTO kpi_booking_month (month, product_id, status, attributed, kind, n) "
        "SELECT date(day, 'start of month'), product_id, status, "
        "CASE WHEN dealer_id <> 0 THEN 1 ELSE 0 END, kind, sum(n) FROM kpi_booking_day "
        "GROUP BY 1, 2, 3, 4, 5",
        "INSERT INTO kpi_unit_day (day, unit_id, seconds) "
        "SELECT date(julianday(date(a.starts_at)) + k.n), a.unit_id, "
        "sum(CAST(round((min(julianday(a.ends_at), julianday(date(a.starts_at)) + k.n + 1) "
        "- max(julianday(a.starts_at), julianday(date(a.starts_at)) + k.n)) * 86400) "
        "AS INTEGER)) FROM allocation a JOIN pool p ON p.id = a.pool_id "
        "JOIN kpi_day_number k "
        "ON k.n <= CAST(julianday(a.ends_at) - julianday(date(a.starts_at)) AS INTEGER) "
        "AND julianday(date(a.starts_at)) + k.n < julianday(a.ends_at) "
        "WHERE a.active AND a.engagement_kind <> 'blocked' "
        f"AND p.kind NOT IN {NOT_RESOURCES} GROUP BY 1, 2",
    ],
}


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
    _create_rollup()


def _create_rollup() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "kpi_booking_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "product_id", "status", "dealer_id", "kind", name=op.f("pk_kpi_booking_day")
        ),
    )
    op.create_table(
        "kpi_booking_delta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_booking_delta")),
    )
    op.create_index("ix_kpi_booking_delta_day", "kpi_booking_delta", ["day"])
    op.create_table(
        "kpi_booking_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attributed", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month",
            "product_id",
            "status",
            "attributed",
            "kind",
            name=op.f("pk_kpi_booking_month"),
        ),
    )
    op.create_table(
        "kpi_unit_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "unit_id", name=op.f("pk_kpi_unit_day")),
    )
    op.create_table(
        "kpi_unit_delta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_unit_delta")),
    )
    op.create_index("ix_kpi_unit_delta_day", "kpi_unit_delta", ["day"])
    numbers = op.create_table(
        "kpi_day_number",
        sa.Column("n", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("n", name=op.f("pk_kpi_day_number")),
    )
    op.bulk_insert(numbers, [{"n": n} for n in range(1100)])
    for statement in FILL[dialect]:
        op.execute(statement)
    if dialect == "postgresql":
        for statement in POSTGRES_ROLLUP:
            op.execute(statement)
    else:
        for statement in sqlite_rollup_triggers():
            op.execute(statement)


def _drop_rollup() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    only = POSTGRES_ONLY_TRIGGERS if postgres else SQLITE_ONLY_TRIGGERS
    for table, names in (*ROLLUP_TRIGGERS.items(), *only.items()):
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
    if postgres:
        for function in POSTGRES_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    # IF EXISTS: a database migrated by an early draft of this revision has no rollup yet.
    for table in (
        "kpi_day_number",
        "kpi_unit_delta",
        "kpi_unit_day",
        "kpi_booking_delta",
        "kpi_booking_day",
        "kpi_booking_month",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table}")


def downgrade() -> None:
    _drop_rollup()
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
