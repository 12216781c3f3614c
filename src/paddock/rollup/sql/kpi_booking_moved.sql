CREATE OR REPLACE FUNCTION kpi_booking_moved() RETURNS trigger LANGUAGE plpgsql AS $$
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
