-- People and their designations (REQ-ROL-1..7). A designation gives one person one
-- role for a period; it is never deleted, only ended, so that every past action
-- resolves to the designation valid at that moment.
ALTER TABLE app_user ADD COLUMN organization TEXT NOT NULL DEFAULT '';
ALTER TABLE app_user ADD COLUMN totp_secret BLOB;

CREATE TABLE designation (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES app_user (id),
    role TEXT NOT NULL,
    valid_from_us INTEGER NOT NULL,
    -- Planned end (temporary designees always have one); NULL: until ended.
    valid_until_us INTEGER,
    -- When the designation was ended early, by whom and why.
    ended_at_us INTEGER,
    ended_by INTEGER REFERENCES app_user (id),
    end_reason TEXT,
    designated_by INTEGER REFERENCES app_user (id),
    basis TEXT NOT NULL,
    created_at_us INTEGER NOT NULL
);
CREATE INDEX designation_by_user ON designation (user_id, valid_from_us);

-- Accounts created before designations existed keep their role from creation on.
INSERT INTO designation (user_id, role, valid_from_us, basis, created_at_us)
    SELECT id, role, created_at_us, 'account created before designations', created_at_us FROM app_user;

-- 守秘義務の誓約 and 研修 (REQ-ROL-6).
CREATE TABLE pledge (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES app_user (id),
    kind TEXT NOT NULL, -- pledge | training
    on_date TEXT NOT NULL, -- YYYY-MM-DD
    content TEXT NOT NULL,
    recorded_by INTEGER REFERENCES app_user (id),
    recorded_at_us INTEGER NOT NULL
);

-- 指示: an operator acts on images only under an open instruction (Osaka 第4条3).
CREATE TABLE instruction (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES app_user (id),
    -- Footage range the instruction covers (NULL: any time).
    range_from_us INTEGER,
    range_to_us INTEGER,
    valid_until_us INTEGER NOT NULL,
    content TEXT NOT NULL,
    issued_by INTEGER NOT NULL REFERENCES app_user (id),
    issued_at_us INTEGER NOT NULL,
    revoked_at_us INTEGER
);
CREATE TABLE instruction_camera (
    instruction_id INTEGER NOT NULL REFERENCES instruction (id),
    camera_id INTEGER NOT NULL,
    PRIMARY KEY (instruction_id, camera_id)
);
