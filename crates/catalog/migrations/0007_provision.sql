-- Provision to third parties (REQ-DIS-1..7): a request with every field of the
-- request forms (Midori 様式第1号), its identity check, the manager's decision,
-- the extracted evidence packages, the delivery, and the media register.
-- Requests are never deleted: the register is their history.
CREATE TABLE provision_request (
    id INTEGER PRIMARY KEY,
    received_on TEXT NOT NULL,
    requester_address TEXT NOT NULL,
    requester_organisation TEXT NOT NULL,
    requester_representative TEXT NOT NULL,
    contact_department TEXT NOT NULL,
    contact_person TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    from_us INTEGER NOT NULL,
    to_us INTEGER NOT NULL,
    reason TEXT NOT NULL,
    ground TEXT NOT NULL,
    ground_detail TEXT NOT NULL,
    method TEXT NOT NULL,
    method_detail TEXT NOT NULL,
    remarks TEXT NOT NULL,
    hold_id INTEGER REFERENCES hold (id),
    created_by INTEGER REFERENCES app_user (id),
    created_at_us INTEGER NOT NULL,
    identity_method TEXT,
    identity_detail TEXT,
    identity_by INTEGER REFERENCES app_user (id),
    identity_at_us INTEGER,
    decision TEXT,
    decision_reason TEXT,
    decided_by INTEGER REFERENCES app_user (id),
    decided_at_us INTEGER,
    extractor_id INTEGER REFERENCES app_user (id),
    delivered_at_us INTEGER,
    delivered_by INTEGER REFERENCES app_user (id),
    delivery_recipient TEXT,
    delivery_medium TEXT,
    delivery_note TEXT,
    withdrawn_at_us INTEGER,
    withdrawn_by INTEGER REFERENCES app_user (id),
    withdraw_reason TEXT
);

CREATE TABLE provision_camera (
    request_id INTEGER NOT NULL REFERENCES provision_request (id),
    camera_id INTEGER NOT NULL REFERENCES camera (id),
    PRIMARY KEY (request_id, camera_id)
);

-- The scanned request document (照会書, 申請書), encrypted under its own key,
-- wrapped by the master key.
CREATE TABLE provision_document (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES provision_request (id),
    file_name TEXT NOT NULL UNIQUE,
    original_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    wrapped_key BLOB NOT NULL,
    nonce_prefix BLOB NOT NULL,
    added_by INTEGER REFERENCES app_user (id),
    added_at_us INTEGER NOT NULL
);

-- An evidence package as built (a ZIP, encrypted at rest like footage).
CREATE TABLE provision_package (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES provision_request (id),
    file_name TEXT NOT NULL UNIQUE,
    bytes INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    manifest_sha256 BLOB NOT NULL,
    wrapped_key BLOB NOT NULL,
    nonce_prefix BLOB NOT NULL,
    passphrase_protected INTEGER NOT NULL,
    cameras TEXT NOT NULL,
    from_us INTEGER NOT NULL,
    to_us INTEGER NOT NULL,
    frames INTEGER NOT NULL,
    built_by INTEGER REFERENCES app_user (id),
    built_at_us INTEGER NOT NULL
);

-- 記録媒体の台帳 (REQ-MED-1): what is on a medium, who holds it, where.
CREATE TABLE medium (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    contents TEXT NOT NULL,
    holder TEXT NOT NULL,
    location TEXT NOT NULL,
    since_us INTEGER NOT NULL,
    provision_id INTEGER REFERENCES provision_request (id),
    registered_by INTEGER REFERENCES app_user (id),
    created_at_us INTEGER NOT NULL
);

ALTER TABLE hold ADD COLUMN provision_id INTEGER REFERENCES provision_request (id);
