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
