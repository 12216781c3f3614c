"""capacity_take()'s quick way: writers of a unit over overlapping times queue for it

Two writers that picked the same free unit both ran the plain INSERT. An exclusion
constraint is checked after the row is in the table, so each found the other's uncommitted
row and waited for the other to end: a deadlock every time, which PostgreSQL broke only
after deadlock_timeout (1 s). Under contention for a few places these came one after another
(51 in a minute of the booking benchmark); requests waited seconds and some answered "busy"
(a CI run's race test got 10 of those among its 50 answers).

Now the quick way first takes transaction-scoped advisory locks, in key order, then the
plain INSERT. For a pick of at most 24 hours: every (unit, hour) it touches, exclusively,
and the unit as a whole, shared. For a longer one (a dealer's place for a month): the unit
as a whole, exclusively (not an hour each: a month is 720 locks, and concurrent bookings
would use up PostgreSQL's lock table). Two overlapping picks of one unit always conflict on
some key, so a second writer waits there holding no row of the unit; once the first
commits, its INSERT meets a committed row and fails at once (exclusion_violation, 23P01),
and the caller asks again carefully, as before. Locks taken in one order cannot form a
cycle, and writers of one unit at other hours do not wait for each other.

Tried first: ON CONFLICT DO NOTHING (a speculative insertion, which also steps aside) checks
the exclusion index twice per row: 25 % less PostgreSQL booking throughput in pgbench (1,950
against 1,450 bookings/s). One lock per unit, whatever the time: writers of a popular unit
at different times queued for it (870/s).

The careful way is unchanged: its per-unit ON CONFLICT DO NOTHING already waits holding no
row of the unit it waits for.

Revision ID: 0009_quick_take_never_deadlocks
Revises: 0008_one_writer_per_key
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_quick_take_never_deadlocks"
down_revision: str | Sequence[str] | None = "0008_one_writer_per_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# capacity_take() as this revision installs it: the quick way's INSERT now waits on advisory
# locks first. One-number locks, apart from the KPI compaction's small positive numbers (and
# from 0008's two-number locks): (unit id << 32) + hours since the epoch for an hour of a
# unit; minus the unit id for the unit as a whole.
CAPACITY_TAKE = """
CREATE OR REPLACE FUNCTION capacity_take(
    p_kind text, p_engagement integer, p_expires_at timestamptz, p_now timestamptz,
    p_pools integer[], p_quantities integer[], p_starts timestamptz[], p_ends timestamptz[],
    p_candidates integer[], p_first integer[], p_careful boolean,
    OUT taken integer[], OUT busy integer[]
) LANGUAGE plpgsql
-- Custom plans looked cheaper for the array parameters: PostgreSQL re-planned every call.
SET plan_cache_mode = force_generic_plan
AS $$
-- Demand d wants p_quantities[d] units of pool p_pools[d] over [p_starts[d], p_ends[d]); its
-- candidates, best first, are p_candidates[p_first[d] .. p_first[d + 1] - 1]. Returns the
-- units taken, demand after demand, and the candidates found busy on the way.
--
-- Quick (not p_careful): each demand's first candidates with no live allocation then (one
-- statement a demand, an index seek a candidate), written in one plain INSERT in unit
-- order, so no two writers wait on each other in a cycle. If a concurrent writer took one
-- of them meanwhile, the exclusion constraint refuses the INSERT (SQLSTATE 23P01) and the
-- caller asks again, carefully: unit by unit (capacity_take_each), which also switches off
-- lapsed holds in the way and says which demands are short. A demand the probes find short
-- goes there directly.
DECLARE
    d integer;
    wanted integer := 0;
    scope integer[];
    found_free integer[];
    last_free integer;
    picks integer[] := '{}';
    pick_demands integer[] := '{}';
    also_busy integer[];
BEGIN
    busy := '{}';
    IF NOT p_careful THEN
        FOR d IN 1 .. coalesce(array_length(p_pools, 1), 0) LOOP
            wanted := wanted + p_quantities[d];
            scope := p_candidates[p_first[d] : p_first[d + 1] - 1];
            -- Active allocations of a unit never overlap: the first one ending after the
            -- start is the only one that can overlap the interval.
            SELECT coalesce(array_agg(f.unit ORDER BY f.ord), '{}'), max(f.ord)
              INTO found_free, last_free
              FROM (SELECT u.unit, u.ord
                      FROM unnest(scope) WITH ORDINALITY AS u(unit, ord)
                     WHERE u.unit <> ALL (picks)  -- shared between two demands
                       AND NOT coalesce((
                           SELECT a.starts_at < p_ends[d]
                                  AND (a.expires_at IS NULL OR a.expires_at > p_now)
                             FROM allocation a
                            WHERE a.unit_id = u.unit AND a.active
                              AND a.ends_at > p_starts[d]
                            ORDER BY a.ends_at
                            LIMIT 1), false)
                     LIMIT p_quantities[d]) AS f;
            IF cardinality(found_free) < p_quantities[d] THEN
                last_free := cardinality(scope);
            END IF;
            IF last_free > cardinality(found_free) THEN
                busy := busy || ARRAY(
                    SELECT c FROM unnest(scope[1 : last_free]) AS c
                     WHERE c <> ALL (found_free) AND c <> ALL (picks));
            END IF;
            picks := picks || found_free;
            pick_demands := pick_demands || array_fill(d, ARRAY[cardinality(found_free)]);
        END LOOP;
        IF cardinality(picks) = wanted THEN
            -- Writers of a unit at overlapping times queue here, in key order (migration
            -- 0009). Per pick, the series' first number stands for the unit as a whole, the
            -- others for its hours. OFFSET 0 keeps the locks after the sort.
            PERFORM count(CASE WHEN s.shared THEN pg_advisory_xact_lock_shared(s.key)
                               ELSE pg_advisory_xact_lock(s.key) END)
               FROM (SELECT CASE WHEN h.n < p.first_hour THEN -p.unit
                                 ELSE (p.unit << 32) + h.n END AS key,
                            h.n < p.first_hour AND p.end_hour - p.first_hour <= 24 AS shared
                       FROM (SELECT t.unit::bigint AS unit,
                                    floor(date_part('epoch', p_starts[t.demand]) / 3600)::bigint
                                        AS first_hour,
                                    ceil(date_part('epoch', p_ends[t.demand]) / 3600)::bigint
                                        AS end_hour
                               FROM unnest(picks, pick_demands) AS t(unit, demand)) AS p,
                            generate_series(p.first_hour - 1,
                                CASE WHEN p.end_hour - p.first_hour <= 24 THEN p.end_hour - 1
                                     ELSE p.first_hour - 1 END) AS h(n)
                      ORDER BY 1 OFFSET 0) AS s;
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

# For downgrade: capacity_take() as 0007 made it.
PREVIOUS_CAPACITY_TAKE = """
CREATE OR REPLACE FUNCTION capacity_take(
    p_kind text, p_engagement integer, p_expires_at timestamptz, p_now timestamptz,
    p_pools integer[], p_quantities integer[], p_starts timestamptz[], p_ends timestamptz[],
    p_candidates integer[], p_first integer[], p_careful boolean,
    OUT taken integer[], OUT busy integer[]
) LANGUAGE plpgsql
-- Custom plans looked cheaper for the array parameters: PostgreSQL re-planned every call.
SET plan_cache_mode = force_generic_plan
AS $$
-- Demand d wants p_quantities[d] units of pool p_pools[d] over [p_starts[d], p_ends[d]); its
-- candidates, best first, are p_candidates[p_first[d] .. p_first[d + 1] - 1]. Returns the
-- units taken, demand after demand, and the candidates found busy on the way.
--
-- Quick (not p_careful): each demand's first candidates with no live allocation then (one
-- statement a demand, an index seek a candidate), written in one plain INSERT in unit
-- order, so no two writers wait on each other in a cycle. If a concurrent writer took one
-- of them meanwhile, the exclusion constraint refuses the INSERT (SQLSTATE 23P01) and the
-- caller asks again, carefully: unit by unit (capacity_take_each), which also switches off
-- lapsed holds in the way and says which demands are short. A demand the probes find short
-- goes there directly.
DECLARE
    d integer;
    wanted integer := 0;
    scope integer[];
    found_free integer[];
    last_free integer;
    picks integer[] := '{}';
    pick_demands integer[] := '{}';
    also_busy integer[];
BEGIN
    busy := '{}';
    IF NOT p_careful THEN
        FOR d IN 1 .. coalesce(array_length(p_pools, 1), 0) LOOP
            wanted := wanted + p_quantities[d];
            scope := p_candidates[p_first[d] : p_first[d + 1] - 1];
            -- Active allocations of a unit never overlap: the first one ending after the
            -- start is the only one that can overlap the interval.
            SELECT coalesce(array_agg(f.unit ORDER BY f.ord), '{}'), max(f.ord)
              INTO found_free, last_free
              FROM (SELECT u.unit, u.ord
                      FROM unnest(scope) WITH ORDINALITY AS u(unit, ord)
                     WHERE u.unit <> ALL (picks)  -- shared between two demands
                       AND NOT coalesce((
                           SELECT a.starts_at < p_ends[d]
                                  AND (a.expires_at IS NULL OR a.expires_at > p_now)
                             FROM allocation a
                            WHERE a.unit_id = u.unit AND a.active
                              AND a.ends_at > p_starts[d]
                            ORDER BY a.ends_at
                            LIMIT 1), false)
                     LIMIT p_quantities[d]) AS f;
            IF cardinality(found_free) < p_quantities[d] THEN
                last_free := cardinality(scope);
            END IF;
            IF last_free > cardinality(found_free) THEN
                busy := busy || ARRAY(
                    SELECT c FROM unnest(scope[1 : last_free]) AS c
                     WHERE c <> ALL (found_free) AND c <> ALL (picks));
            END IF;
            picks := picks || found_free;
            pick_demands := pick_demands || array_fill(d, ARRAY[cardinality(found_free)]);
        END LOOP;
        IF cardinality(picks) = wanted THEN
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
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CAPACITY_TAKE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS_CAPACITY_TAKE)
