-- Photographs of a camera's sign as it hangs (REQ-SIG-1: text, location, photo,
-- last checked). Encrypted in the provisions store like request documents (a
-- photo may show passers-by); the newest of a camera is its current one.
CREATE TABLE sign_photo (
    id INTEGER PRIMARY KEY,
    camera_id INTEGER NOT NULL REFERENCES camera (id),
    file_name TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    wrapped_key BLOB NOT NULL,
    nonce_prefix BLOB NOT NULL,
    added_by INTEGER REFERENCES app_user (id),
    added_at_us INTEGER NOT NULL
);
