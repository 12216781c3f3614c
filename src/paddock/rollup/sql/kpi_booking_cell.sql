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
