-- What each camera's footage takes in the segment store, kept by a trigger on
-- `segment` (see the SQLite migration 0017 for why). Derived data: `mimamori
-- migrate` does not copy it.
CREATE TABLE camera_stored_bytes (
    camera_id BIGINT NOT NULL PRIMARY KEY,
    bytes BIGINT NOT NULL
);

INSERT INTO camera_stored_bytes (camera_id, bytes)
    SELECT camera_id, CAST(SUM(COALESCE(stored_bytes, bytes)) AS BIGINT)
    FROM segment GROUP BY camera_id;

CREATE FUNCTION segment_stored_bytes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE camera_stored_bytes
            SET bytes = camera_stored_bytes.bytes - COALESCE(OLD.stored_bytes, OLD.bytes)
            WHERE camera_id = OLD.camera_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO camera_stored_bytes (camera_id, bytes)
            VALUES (NEW.camera_id, COALESCE(NEW.stored_bytes, NEW.bytes))
            ON CONFLICT (camera_id)
            DO UPDATE SET bytes = camera_stored_bytes.bytes + EXCLUDED.bytes;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER segment_stored_bytes
    AFTER INSERT OR DELETE OR UPDATE OF camera_id, bytes, stored_bytes ON segment
    FOR EACH ROW EXECUTE FUNCTION segment_stored_bytes();

-- The sweeper's question: a camera's segments that ended by the cutoff.
CREATE INDEX segment_by_camera_end ON segment (camera_id, end_us);

-- Overwrite mode (a full disk) erases the oldest footage of all cameras first.
CREATE INDEX segment_by_start ON segment (start_us, id);
