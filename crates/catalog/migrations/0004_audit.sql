-- The audit log: append-only, each entry chained to the previous one by SHA-256 over
-- its canonical encoding (see audit.rs). Written before any image byte leaves the server.
CREATE TABLE audit_entry (
    seq INTEGER PRIMARY KEY,
    at_us INTEGER NOT NULL,
    user_id INTEGER,
    username TEXT NOT NULL,
    -- login | login_failed | logout | playback | download | live_view | camera_added |
    -- camera_changed | camera_removed | hold_created | hold_changed | hold_released |
    -- footage_erased | refused
    action TEXT NOT NULL,
    camera_id INTEGER,
    range_from_us INTEGER,
    range_to_us INTEGER,
    client TEXT NOT NULL,
    purpose TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX audit_by_time ON audit_entry (at_us);

-- Heads of the audit chain signed with the installation's Ed25519 key.
CREATE TABLE audit_signature (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL,
    signed_at_us INTEGER NOT NULL,
    signature BLOB NOT NULL
);
