CREATE OR REPLACE FUNCTION mail_outbox_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mail_message (kind, booking_id, audit_entry_id, recipient, status, attempts, next_attempt_at, last_error, subject, created_at)
    VALUES ('booking_' || NEW.action, NEW.subject_id, NEW.id, '', 'pending', 0, now(), '', '', now());
    RETURN NULL;
END
$$
