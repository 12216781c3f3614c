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
