CREATE OR REPLACE FUNCTION capacity_take_each(
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
