CREATE OR REPLACE FUNCTION kpi_allocation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.active AND OLD.engagement_kind <> 'blocked' THEN
        PERFORM kpi_unit_split(OLD.starts_at, OLD.ends_at, OLD.unit_id, OLD.pool_id, -1);
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    IF NEW.active AND NEW.engagement_kind <> 'blocked' THEN
        PERFORM kpi_unit_split(NEW.starts_at, NEW.ends_at, NEW.unit_id, NEW.pool_id, 1);
    END IF;
    RETURN NULL;
END
$$
