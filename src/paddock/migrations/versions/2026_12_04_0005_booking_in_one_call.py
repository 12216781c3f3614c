"""booking in one call: capacity_take() and booking_create() on PostgreSQL, lean KPI and
outbox triggers, delete guards for the booking path's hot foreign keys, partial indexes for
holds

On PostgreSQL a booking is one statement: booking_create() chooses each demand's first free
candidates in the caller's order (least used first) by an index probe each, writes them in
one INSERT ... ON CONFLICT DO NOTHING where the exclusion constraint arbitrates, and falls
back to trying unit by unit when a concurrent writer won one; then it writes the booking and
its audit entry. A demand that cannot be met raises SQLSTATE PD001 with "demand:free;" pairs
in its detail, and nothing is written.

Revision ID: 0005_booking_in_one_call
Revises: 0003_crm_kpis
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_booking_in_one_call"
down_revision: str | Sequence[str] | None = "0003_crm_kpis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CAPACITY_TAKE = """
CREATE FUNCTION capacity_take(
    p_kind text, p_engagement integer, p_expires_at timestamptz, p_now timestamptz,
    p_pools integer[], p_quantities integer[], p_starts timestamptz[], p_ends timestamptz[],
    p_candidates integer[], p_first integer[], p_careful boolean,
    OUT taken integer[], OUT busy integer[]
) LANGUAGE plpgsql AS $$
-- Demand d wants p_quantities[d] units of pool p_pools[d] over [p_starts[d], p_ends[d]); its
-- candidates, best first, are p_candidates[p_first[d] .. p_first[d + 1] - 1]. Returns the
-- units taken, demand after demand, and the candidates found busy on the way.
--
-- Quick (not p_careful): each demand's first candidates with no live allocation then (an
-- index probe each), written in one plain INSERT in unit order, so no two writers wait on
-- each other in a cycle. If a concurrent writer took one of them meanwhile, the exclusion
-- constraint refuses the INSERT (SQLSTATE 23P01) and the caller asks again, carefully:
-- unit by unit (capacity_take_each), which also switches off lapsed holds in the way and
-- says which demands are short. A demand the probes find short goes there directly.
DECLARE
    d integer;
    i integer;
    got integer;
    wanted integer := 0;
    picks integer[] := '{}';
    pick_demands integer[] := '{}';
    also_busy integer[];
BEGIN
    busy := '{}';
    IF NOT p_careful THEN
        FOR d IN 1 .. coalesce(array_length(p_pools, 1), 0) LOOP
            got := 0;
            wanted := wanted + p_quantities[d];
            FOR i IN p_first[d] .. p_first[d + 1] - 1 LOOP
                EXIT WHEN got = p_quantities[d];
                CONTINUE WHEN p_candidates[i] = ANY (picks);  -- shared between two demands
                IF EXISTS (
                    SELECT 1 FROM allocation a
                     WHERE a.unit_id = p_candidates[i] AND a.active
                       AND tstzrange(a.starts_at, a.ends_at)
                           && tstzrange(p_starts[d], p_ends[d])
                       AND (a.expires_at IS NULL OR a.expires_at > p_now))
                THEN
                    busy := busy || p_candidates[i];
                ELSE
                    got := got + 1;
                    picks := picks || p_candidates[i];
                    pick_demands := pick_demands || d;
                END IF;
            END LOOP;
        END LOOP;
        IF coalesce(array_length(picks, 1), 0) = wanted THEN
            INSERT INTO allocation (engagement_kind, engagement_id, unit_id, pool_id,
                                    starts_at, ends_at, active, expires_at)
            SELECT p_kind, p_engagement, t.unit, p_pools[t.demand], p_starts[t.demand],
                   p_ends[t.demand], true, p_expires_at
              FROM unnest(picks, pick_demands) AS t(unit, demand)
             ORDER BY t.unit;
            taken := picks;
            RETURN;
        END IF;
    END IF;
    SELECT t.taken, t.busy INTO taken, also_busy
      FROM capacity_take_each(p_kind, p_engagement, p_expires_at, p_now, p_pools,
                              p_quantities, p_starts, p_ends, p_candidates, p_first) AS t;
    busy := busy || also_busy;
END
$$
"""

CAPACITY_TAKE_EACH = """
CREATE FUNCTION capacity_take_each(
    p_kind text, p_engagement integer, p_expires_at timestamptz, p_now timestamptz,
    p_pools integer[], p_quantities integer[], p_starts timestamptz[], p_ends timestamptz[],
    p_candidates integer[], p_first integer[], OUT taken integer[], OUT busy integer[]
) LANGUAGE plpgsql AS $$
-- capacity_take's careful path: try each candidate in turn (a unit a concurrent writer is
-- taking makes us wait for its outcome); when short, switch off lapsed holds in the way and
-- try once more; raise PD001 with "demand:free;" for every demand still short.
DECLARE
    d integer;
    i integer;
    got integer;
    want integer;
    retried boolean;
    short text := '';
BEGIN
    taken := '{}';
    busy := '{}';
    FOR d IN 1 .. coalesce(array_length(p_pools, 1), 0) LOOP
        want := p_quantities[d];
        got := 0;
        retried := false;
        LOOP
            FOR i IN p_first[d] .. p_first[d + 1] - 1 LOOP
                EXIT WHEN got = want;
                INSERT INTO allocation (engagement_kind, engagement_id, unit_id, pool_id,
                                        starts_at, ends_at, active, expires_at)
                VALUES (p_kind, p_engagement, p_candidates[i], p_pools[d], p_starts[d],
                        p_ends[d], true, p_expires_at)
                ON CONFLICT DO NOTHING;
                IF FOUND THEN
                    got := got + 1;
                    taken := taken || p_candidates[i];
                ELSE
                    busy := busy || p_candidates[i];
                END IF;
            END LOOP;
            EXIT WHEN got = want OR retried;
            UPDATE allocation SET active = false
             WHERE active AND expires_at IS NOT NULL AND expires_at <= p_now
               AND unit_id = ANY (p_candidates[p_first[d] : p_first[d + 1] - 1])
               AND tstzrange(starts_at, ends_at) && tstzrange(p_starts[d], p_ends[d]);
            EXIT WHEN NOT FOUND;
            retried := true;
        END LOOP;
        IF got < want THEN
            short := short || d || ':' || got || ';';
        END IF;
    END LOOP;
    IF short <> '' THEN
        RAISE EXCEPTION 'not enough capacity' USING ERRCODE = 'PD001', DETAIL = short;
    END IF;
END
$$
"""

BOOKING_CREATE = """
CREATE FUNCTION booking_create(
    p_ref text, p_manage_token text, p_idempotency_key text, p_fingerprint text,
    p_product_id integer, p_site_id integer, p_starts_at timestamptz, p_ends_at timestamptz,
    p_status text, p_hold_expires_at timestamptz, p_guest_name text, p_guest_email text,
    p_guest_phone text, p_notes text, p_channel text, p_price_cents integer, p_currency text,
    p_now timestamptz, p_audit_actor text, p_audit_action text, p_audit_data jsonb,
    p_pools integer[], p_quantities integer[], p_starts timestamptz[], p_ends timestamptz[],
    p_candidates integer[], p_first integer[], p_careful boolean
) RETURNS TABLE (booking_id integer, taken integer[], busy integer[])
LANGUAGE plpgsql AS $$
-- The units first: a full slot costs no booking row. No audit entry when p_audit_actor is
-- NULL (the caller writes it after its own rows, which the audit's triggers read).
BEGIN
    booking_id := nextval(pg_get_serial_sequence('booking', 'id'));
    SELECT t.taken, t.busy INTO taken, busy
      FROM capacity_take('booking', booking_id, p_hold_expires_at, p_now, p_pools,
                         p_quantities, p_starts, p_ends, p_candidates, p_first,
                         p_careful) AS t;
    INSERT INTO booking (id, ref, manage_token, idempotency_key, request_fingerprint,
        product_id, site_id, starts_at, ends_at, status, hold_expires_at, guest_name,
        guest_email, guest_phone, notes, channel, price_cents, currency, created_at,
        updated_at, checked_in_at, cancelled_at, cancel_reason)
    VALUES (booking_id, p_ref, p_manage_token, p_idempotency_key, p_fingerprint, p_product_id,
        p_site_id, p_starts_at, p_ends_at, p_status, p_hold_expires_at, p_guest_name,
        p_guest_email, p_guest_phone, p_notes, p_channel, p_price_cents, p_currency, p_now,
        p_now, NULL, NULL, '');
    IF p_audit_actor IS NOT NULL THEN
        INSERT INTO audit_entry (at, actor, subject_kind, subject_id, action, data)
        VALUES (p_now, p_audit_actor, 'booking', booking_id, p_audit_action, p_audit_data);
    END IF;
    RETURN NEXT;
END
$$
"""

# The rollup's triggers, same arithmetic as 0003's with fewer statements per row: a new
# booking has no attribution or person yet (both reference it), and an allocation within one
# UTC day (nearly all) is one delta row, without the day series.
KPI_BOOKING_CELL = """
CREATE OR REPLACE FUNCTION kpi_booking_cell() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bid integer;
    dealer integer;
    kind text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO kpi_booking_delta (day, product_id, status, dealer_id, kind, n) VALUES
            ((NEW.starts_at AT TIME ZONE 'UTC')::date, NEW.product_id, NEW.status, 0, '', 1);
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN bid := OLD.id; ELSE bid := NEW.id; END IF;
    dealer := coalesce((SELECT dealer_id FROM booking_attribution WHERE booking_id = bid), 0);
    kind := coalesce((SELECT kind_at_visit FROM booking_person WHERE booking_id = bid), '');
    INSERT INTO kpi_booking_delta (day, product_id, status, dealer_id, kind, n) VALUES
        ((OLD.starts_at AT TIME ZONE 'UTC')::date, OLD.product_id, OLD.status, dealer, kind, -1);
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    INSERT INTO kpi_booking_delta (day, product_id, status, dealer_id, kind, n) VALUES
        ((NEW.starts_at AT TIME ZONE 'UTC')::date, NEW.product_id, NEW.status, dealer, kind, 1);
    RETURN NULL;
END
$$
"""

KPI_UNIT_SPLIT = """
CREATE OR REPLACE FUNCTION kpi_unit_split(
    p_starts timestamptz, p_ends timestamptz, p_unit integer, p_pool integer, p_sign integer
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    first_day timestamp := date_trunc('day', p_starts AT TIME ZONE 'UTC');
    last_day timestamp := date_trunc('day', (p_ends AT TIME ZONE 'UTC') - interval '1 microsecond');
BEGIN
    IF EXISTS (SELECT 1 FROM pool p WHERE p.id = p_pool AND p.kind IN ('dealer_allotment', 'customer_vehicle')) THEN
        RETURN;
    END IF;
    IF first_day = last_day THEN
        INSERT INTO kpi_unit_delta (day, unit_id, seconds)
        VALUES (first_day::date, p_unit,
                p_sign * round(extract(epoch FROM p_ends - p_starts))::bigint);
        RETURN;
    END IF;
    INSERT INTO kpi_unit_delta (day, unit_id, seconds)
    SELECT d::date, p_unit, p_sign * round(extract(epoch FROM
        least(p_ends AT TIME ZONE 'UTC', d + interval '1 day')
        - greatest(p_starts AT TIME ZONE 'UTC', d)))::bigint
    FROM generate_series(first_day, last_day, interval '1 day') AS d;
END
$$
"""

# New allocations: one delta statement per INSERT statement (a booking's units go in one).
KPI_ALLOCATIONS_INSERTED = """
CREATE FUNCTION kpi_allocations_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_unit_delta (day, unit_id, seconds)
    SELECT d::date, n.unit_id, round(extract(epoch FROM
        least(n.ends_at AT TIME ZONE 'UTC', d + interval '1 day')
        - greatest(n.starts_at AT TIME ZONE 'UTC', d)))::bigint
    FROM inserted n
    JOIN pool p ON p.id = n.pool_id AND p.kind NOT IN ('dealer_allotment', 'customer_vehicle')
    CROSS JOIN LATERAL generate_series(date_trunc('day', n.starts_at AT TIME ZONE 'UTC'),
        (n.ends_at AT TIME ZONE 'UTC') - interval '1 microsecond', interval '1 day') AS d
    WHERE n.active AND n.engagement_kind <> 'blocked';
    RETURN NULL;
END
$$
"""
ALLOCATION_INSERT_TRIGGER = (
    "CREATE TRIGGER trg_allocation_kpi_insert AFTER INSERT ON allocation "
    "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
    "EXECUTE FUNCTION kpi_allocations_inserted()"
)

# Foreign keys of the booking path's rows take a share lock on their parent row: every
# booking locked the same product, site and pool rows, and concurrent lockers of a row cost
# PostgreSQL a multixact each. Those parents are retired, not deleted, so a guard that
# refuses to delete a referenced row keeps what the keys kept.
HOT_FOREIGN_KEYS = (
    ("allocation", "fk_allocation_unit_id_unit", "unit_id", "unit"),
    ("allocation", "fk_allocation_pool_id_pool", "pool_id", "pool"),
    ("booking", "fk_booking_product_id_product", "product_id", "product"),
    ("booking", "fk_booking_site_id_site", "site_id", "site"),
)
REFUSE_REFERENCED_DELETE = """
CREATE FUNCTION refuse_referenced_delete() RETURNS trigger LANGUAGE plpgsql AS $$
-- TG_ARGV: pairs of (referencing table, column).
DECLARE
    k integer;
    found boolean;
BEGIN
    FOR k IN 0 .. TG_NARGS / 2 - 1 LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)',
                       TG_ARGV[2 * k], TG_ARGV[2 * k + 1])
           INTO found USING OLD.id;
        IF found THEN
            RAISE EXCEPTION 'update or delete on table "%" violates a reference from table "%"',
                TG_TABLE_NAME, TG_ARGV[2 * k] USING ERRCODE = 'foreign_key_violation';
        END IF;
    END LOOP;
    RETURN OLD;
END
$$
"""


def _guards() -> dict[str, list[tuple[str, str]]]:
    by_parent: dict[str, list[tuple[str, str]]] = {}
    for table, _, column, parent in HOT_FOREIGN_KEYS:
        by_parent.setdefault(parent, []).append((table, column))
    return by_parent


# Most audited bookings have no dealer: one index probe decides, before the join.
WEBHOOK_OUTBOX = """
CREATE OR REPLACE FUNCTION webhook_outbox_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM booking_attribution WHERE booking_id = NEW.subject_id) THEN
        RETURN NULL;
    END IF;
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


# For downgrade: the trigger functions 0005 replaces, as 0003 made them.
PREVIOUS_WEBHOOK_OUTBOX = """
CREATE OR REPLACE FUNCTION webhook_outbox_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
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
PREVIOUS_KPI_BOOKING_CELL = """
CREATE OR REPLACE FUNCTION kpi_booking_cell() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""
PREVIOUS_KPI_UNIT_SPLIT = """
CREATE OR REPLACE FUNCTION kpi_unit_split(
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
"""


def upgrade() -> None:
    # Holds are few among allocations and bookings: partial indexes find the lapsed ones.
    op.create_index(
        "ix_allocation_hold_expiry",
        "allocation",
        ["expires_at"],
        postgresql_where=sa.text("active AND expires_at IS NOT NULL"),
        sqlite_where=sa.text("active AND expires_at IS NOT NULL"),
    )
    op.drop_index("ix_booking_status_hold", table_name="booking")
    op.create_index(
        "ix_booking_hold_expiry",
        "booking",
        ["hold_expires_at"],
        postgresql_where=sa.text("status = 'held'"),
        sqlite_where=sa.text("status = 'held'"),
    )
    # Every lookup by e-mail is case-insensitive (ix_booking_guest_email_lower).
    op.drop_index("ix_booking_guest_email", table_name="booking")
    if op.get_bind().dialect.name != "postgresql":
        # SQLite's booking path asks each candidate for its first active allocation ending
        # after the interval's start (one seek; PostgreSQL's exclusion index does it there).
        op.create_index(
            "ix_allocation_unit_active_end",
            "allocation",
            ["unit_id", "ends_at"],
            sqlite_where=sa.text("active"),
        )
        return
    for statement in (
        CAPACITY_TAKE_EACH,
        CAPACITY_TAKE,
        BOOKING_CREATE,
        KPI_BOOKING_CELL,
        KPI_UNIT_SPLIT,
        KPI_ALLOCATIONS_INSERTED,
        "DROP TRIGGER trg_allocation_kpi_insert ON allocation",
        ALLOCATION_INSERT_TRIGGER,
        WEBHOOK_OUTBOX,
        REFUSE_REFERENCED_DELETE,
    ):
        op.execute(statement)
    for table, name, _, _ in HOT_FOREIGN_KEYS:
        op.drop_constraint(name, table, type_="foreignkey")
    for parent, references in _guards().items():
        arguments = ", ".join(f"'{t}', '{c}'" for t, c in references)
        op.execute(
            f"CREATE TRIGGER trg_{parent}_delete_guard BEFORE DELETE ON {parent} "
            f"FOR EACH ROW EXECUTE FUNCTION refuse_referenced_delete({arguments})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.drop_index("ix_allocation_unit_active_end", table_name="allocation")
    op.create_index("ix_booking_guest_email", "booking", ["guest_email"])
    op.drop_index("ix_booking_hold_expiry", table_name="booking")
    op.create_index("ix_booking_status_hold", "booking", ["status", "hold_expires_at"])
    op.drop_index("ix_allocation_hold_expiry", table_name="allocation")
    if op.get_bind().dialect.name != "postgresql":
        return
    for parent in _guards():
        op.execute(f"DROP TRIGGER trg_{parent}_delete_guard ON {parent}")
    op.execute("DROP FUNCTION refuse_referenced_delete")
    for table, name, column, parent in HOT_FOREIGN_KEYS:
        op.create_foreign_key(name, table, parent, [column], ["id"], ondelete="RESTRICT")
    op.execute("DROP TRIGGER trg_allocation_kpi_insert ON allocation")
    op.execute("DROP FUNCTION kpi_allocations_inserted")
    op.execute(
        "CREATE TRIGGER trg_allocation_kpi_insert AFTER INSERT ON allocation FOR EACH ROW "
        "WHEN (NEW.active) EXECUTE FUNCTION kpi_allocation_changed()"
    )
    op.execute("DROP FUNCTION booking_create")
    op.execute("DROP FUNCTION capacity_take")
    op.execute("DROP FUNCTION capacity_take_each")
    for statement in (PREVIOUS_WEBHOOK_OUTBOX, PREVIOUS_KPI_BOOKING_CELL, PREVIOUS_KPI_UNIT_SPLIT):
        op.execute(statement)
