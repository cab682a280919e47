-- Records kept beside the footage (issue 10): complaints and inquiries, and the
-- disposal of media with its confirmations.

CREATE TABLE complaint (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,              -- complaint | inquiry
    received_at_us INTEGER NOT NULL,
    channel TEXT NOT NULL,           -- counter | phone | mail | letter | other
    summary TEXT NOT NULL,
    contact TEXT NOT NULL DEFAULT '', -- only if the person gave it
    owner INTEGER REFERENCES app_user (id),
    due_at_us INTEGER NOT NULL,
    response TEXT,
    closed_at_us INTEGER,
    closed_by INTEGER REFERENCES app_user (id),
    created_by INTEGER REFERENCES app_user (id),
    created_at_us INTEGER NOT NULL
);

ALTER TABLE medium ADD COLUMN disposal_method TEXT;
ALTER TABLE medium ADD COLUMN disposal_note TEXT;
ALTER TABLE medium ADD COLUMN disposal_started_at_us INTEGER;
ALTER TABLE medium ADD COLUMN disposed_at_us INTEGER;

-- Each person who confirmed a disposal, in their own account, once.
CREATE TABLE medium_confirmation (
    medium_id INTEGER NOT NULL REFERENCES medium (id),
    user_id INTEGER NOT NULL REFERENCES app_user (id),
    as_manager INTEGER NOT NULL,
    at_us INTEGER NOT NULL,
    PRIMARY KEY (medium_id, user_id)
);

-- Periodic checks of a camera: placement reviews, inspections, its sign.
CREATE TABLE camera_check (
    id INTEGER PRIMARY KEY,
    camera_id INTEGER NOT NULL REFERENCES camera (id),
    kind TEXT NOT NULL,              -- placement_review | inspection | signage
    done_at_us INTEGER NOT NULL,
    done_by TEXT NOT NULL,           -- the reviewer, inspector or contractor company
    outcome TEXT NOT NULL,
    action TEXT NOT NULL DEFAULT '',
    recorded_by INTEGER REFERENCES app_user (id),
    recorded_at_us INTEGER NOT NULL
);
CREATE INDEX camera_check_by_camera ON camera_check (camera_id, kind, done_at_us);
