"""booking_create() lets one writer at a time through per Idempotency-Key, before any unit

Requests retried with the same Idempotency-Key used to take their units first and meet at
the booking's unique key last: each one held allocations while it waited on another's
uncommitted booking row, and others waited on those allocations. Cycles formed, and
PostgreSQL broke each only after deadlock_timeout (1 s): twenty clients retrying one
request at once were answered after 5 to 12 s, some with "busy".

Now a request with a key first takes a transaction-scoped advisory lock on the key's hash,
holding nothing else, so same-key writers queue there and cannot be part of a cycle. The
one let through next finds the first booking already written and stops at once with the
unique violation of the key that callers already answer as a replay. Different keys whose
hashes collide only queue behind each other. Requests without a key are unchanged.

Revision ID: 0008_one_writer_per_key
Revises: 0007_probe_in_one_statement
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_one_writer_per_key"
down_revision: str | Sequence[str] | None = "0007_probe_in_one_statement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# pg_advisory_xact_lock(7300302, hashtext(key)): the two-number form, apart from the
# single-number locks (the KPI compaction's).
BOOKING_CREATE = """
CREATE OR REPLACE FUNCTION booking_create(
    p_ref text, p_manage_token text, p_idempotency_key text, p_fingerprint text,
    p_product_id integer, p_site_id integer, p_starts_at timestamptz, p_ends_at timestamptz,
    p_status text, p_hold_expires_at timestamptz, p_guest_name text, p_guest_email text,
    p_guest_phone text, p_notes text, p_channel text, p_price_cents integer, p_currency text,
    p_now timestamptz, p_audit_actor text, p_audit_action text, p_audit_data jsonb,
    p_pools integer[], p_quantities integer[], p_starts timestamptz[], p_ends timestamptz[],
    p_candidates integer[], p_first integer[], p_careful boolean
) RETURNS TABLE (booking_id integer, taken integer[], busy integer[])
LANGUAGE plpgsql AS $$
-- One writer at a time per Idempotency-Key, before any unit is taken (see migration 0008);
-- then the units: a full slot costs no booking row. No audit entry when p_audit_actor is
-- NULL (the caller writes it after its own rows, which the audit's triggers read).
BEGIN
    IF p_idempotency_key IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(7300302, hashtext(p_idempotency_key));
        IF EXISTS (SELECT 1 FROM booking WHERE idempotency_key = p_idempotency_key) THEN
            RAISE EXCEPTION 'duplicate key value violates unique constraint '
                            '"uq_booking_idempotency_key"'
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'uq_booking_idempotency_key',
                      TABLE = 'booking';
        END IF;
    END IF;
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


# For downgrade: booking_create() as 0005 made it.
PREVIOUS_BOOKING_CREATE = """
CREATE OR REPLACE FUNCTION booking_create(
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BOOKING_CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS_BOOKING_CREATE)
