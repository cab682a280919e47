-- Agreements with a police station (協定, Osaka 第8条; REQ-DIS-7): under one, the
-- station's accounts view and extract directly, within its cameras and period.
-- An agreement is never deleted; a suspension is a state of it, its history is in
-- the audit log. Every extraction under it is a request of the register.
CREATE TABLE agreement (
    id INTEGER PRIMARY KEY,
    -- The station, exactly as the organisation of its accounts.
    station TEXT NOT NULL,
    -- The terms: the handling of the images provided (第8条3), the corrective
    -- measures (第8条4), anything else the agreement says.
    terms TEXT NOT NULL,
    valid_from_us INTEGER NOT NULL,
    valid_until_us INTEGER NOT NULL,
    created_by INTEGER REFERENCES app_user (id),
    created_at_us INTEGER NOT NULL,
    suspended_at_us INTEGER,
    suspended_by INTEGER REFERENCES app_user (id),
    suspend_reason TEXT
);

CREATE TABLE agreement_camera (
    agreement_id INTEGER NOT NULL REFERENCES agreement (id),
    camera_id INTEGER NOT NULL REFERENCES camera (id),
    PRIMARY KEY (agreement_id, camera_id)
);

-- A request made under an agreement (the station's own extraction).
ALTER TABLE provision_request ADD COLUMN agreement_id INTEGER REFERENCES agreement (id);
