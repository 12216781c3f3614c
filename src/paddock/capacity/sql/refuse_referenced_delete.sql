CREATE OR REPLACE FUNCTION refuse_referenced_delete() RETURNS trigger LANGUAGE plpgsql AS $$
-- TG_ARGV: pairs of (referencing table, column).
DECLARE
    k integer;
    found boolean;
BEGIN
    FOR k IN 0 .. TG_NARGS / 2 - 1 LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)',
                       TG_ARGV[2 * k], TG_ARGV[2 * k + 1])
           INTO found USING OLD.id;
        IF found THEN
            RAISE EXCEPTION 'update or delete on table "%" violates a reference from table "%"',
                TG_TABLE_NAME, TG_ARGV[2 * k] USING ERRCODE = 'foreign_key_violation';
        END IF;
    END LOOP;
    RETURN OLD;
END
$$
