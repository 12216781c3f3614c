"""probe a candidate unit by its next allocation's end: a b-tree seek instead of a GiST search

capacity_take()'s quick way asked each candidate "any live allocation overlapping?" of the
exclusion constraint's GiST index. Active allocations of a unit never overlap, so in order of
end they are in order of start too: the first one ending after the interval's start is the
only one that can overlap it. The b-tree on (unit, end, start) answers that with one seek
(12 µs against 24 µs for the GiST search); as slots fill up, a booking probes more busy
units, and the probes were most of PostgreSQL's extra work then. The same index serves the
windowed reads (starts < to, ends > from) from the window's start instead of each unit's
whole history.

A lapsed hold that is first in line reads as free here, as before: the INSERT then meets it
(23P01) and the careful way switches it off.

Revision ID: 0006_probe_by_end
Revises: 0005_booking_in_one_call
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_probe_by_end"
down_revision: str | Sequence[str] | None = "0005_booking_in_one_call"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# capacity_take() as this revision installs it, and as 0005 made it (for downgrade).
CAPACITY_TAKE = """
CREATE OR REPLACE FUNCTION capacity_take(
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
    hit boolean;
BEGIN
    busy := '{}';
    IF NOT p_careful THEN
        FOR d IN 1 .. coalesce(array_length(p_pools, 1), 0) LOOP
            got := 0;
            wanted := wanted + p_quantities[d];
            FOR i IN p_first[d] .. p_first[d + 1] - 1 LOOP
                EXIT WHEN got = p_quantities[d];
                CONTINUE WHEN p_candidates[i] = ANY (picks);  -- shared between two demands
                SELECT a.starts_at < p_ends[d]
                       AND (a.expires_at IS NULL OR a.expires_at > p_now)
                  INTO hit
                  FROM allocation a
                 WHERE a.unit_id = p_candidates[i] AND a.active
                   AND a.ends_at > p_starts[d]
                 ORDER BY a.ends_at
                 LIMIT 1;
                IF hit THEN
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

PREVIOUS_CAPACITY_TAKE = """
CREATE OR REPLACE FUNCTION capacity_take(
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


def upgrade() -> None:
    op.drop_index("ix_allocation_unit_time", table_name="allocation")
    op.create_index("ix_allocation_unit_time", "allocation", ["unit_id", "ends_at", "starts_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CAPACITY_TAKE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS_CAPACITY_TAKE)
    op.drop_index("ix_allocation_unit_time", table_name="allocation")
    op.create_index("ix_allocation_unit_time", "allocation", ["unit_id", "starts_at", "ends_at"])
