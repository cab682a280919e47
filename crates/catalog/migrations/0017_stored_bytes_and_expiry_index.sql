-- What each camera's footage takes in the segment store, kept by triggers on
-- `segment`, so that the sweeper's quota check and /metrics read one row per
-- camera instead of adding up every segment (issue 12: in a catalog of 4 M
-- segments, that sum read the whole table, seconds on each 60 s sweep).
-- Derived data: `mimamori migrate` does not copy it, the target's triggers
-- rebuild it from the segments copied.
CREATE TABLE camera_stored_bytes (
    camera_id INTEGER NOT NULL PRIMARY KEY,
    bytes INTEGER NOT NULL
);

INSERT INTO camera_stored_bytes (camera_id, bytes)
    SELECT camera_id, SUM(COALESCE(stored_bytes, bytes)) FROM segment GROUP BY camera_id;

CREATE TRIGGER segment_stored_bytes_insert AFTER INSERT ON segment
BEGIN
    INSERT INTO camera_stored_bytes (camera_id, bytes)
        VALUES (NEW.camera_id, COALESCE(NEW.stored_bytes, NEW.bytes))
        ON CONFLICT (camera_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER segment_stored_bytes_delete AFTER DELETE ON segment
BEGIN
    UPDATE camera_stored_bytes SET bytes = bytes - COALESCE(OLD.stored_bytes, OLD.bytes)
        WHERE camera_id = OLD.camera_id;
END;

CREATE TRIGGER segment_stored_bytes_update AFTER UPDATE OF camera_id, bytes, stored_bytes ON segment
BEGIN
    UPDATE camera_stored_bytes SET bytes = bytes - COALESCE(OLD.stored_bytes, OLD.bytes)
        WHERE camera_id = OLD.camera_id;
    INSERT INTO camera_stored_bytes (camera_id, bytes)
        VALUES (NEW.camera_id, COALESCE(NEW.stored_bytes, NEW.bytes))
        ON CONFLICT (camera_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;

-- The sweeper asks for a camera's segments that ended by the cutoff: without
-- this index it read every row of the camera on each sweep.
CREATE INDEX segment_by_camera_end ON segment (camera_id, end_us);

-- Overwrite mode (a full disk) erases the oldest footage of all cameras first.
CREATE INDEX segment_by_start ON segment (start_us, id);
