-- Copies of held footage onto the external medium a hold names (Tottori 5(3):
-- retention is extended only by keeping the images on an external medium). Each
-- is an evidence package (encrypted in the provisions store, signed, verifiable
-- offline) of the hold's cameras and period, recorded against the hold, not as a
-- provision.
CREATE TABLE hold_copy (
    id INTEGER PRIMARY KEY,
    hold_id INTEGER NOT NULL REFERENCES hold (id),
    file_name TEXT NOT NULL UNIQUE,
    bytes INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    manifest_sha256 BLOB NOT NULL,
    wrapped_key BLOB NOT NULL,
    nonce_prefix BLOB NOT NULL,
    passphrase_protected INTEGER NOT NULL,
    frames INTEGER NOT NULL,
    built_by INTEGER REFERENCES app_user (id),
    built_at_us INTEGER NOT NULL
);
