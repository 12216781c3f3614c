CREATE OR REPLACE FUNCTION kpi_allocations_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
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
