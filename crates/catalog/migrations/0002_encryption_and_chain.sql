-- Encryption at rest, the integrity chain, and erasure records.

-- A data key: encrypts one camera's segments of one period (a Japan-time day).
-- Wrapped by the installation's master key, which never enters the data directory.
-- Destroying the key (wrapped_key set to NULL) makes every segment of the period
-- unreadable, wherever a copy of the files may be.
CREATE TABLE data_key (
    id INTEGER PRIMARY KEY,
    camera_id INTEGER NOT NULL REFERENCES camera (id),
    period_start_us INTEGER NOT NULL,
    period_end_us INTEGER NOT NULL,
    wrapped_key BLOB,
    created_at_us INTEGER NOT NULL,
    destroyed_at_us INTEGER,
    UNIQUE (camera_id, period_start_us)
);

-- Which key encrypted a segment, the random nonce prefix of its chunks, its size on
-- disk, and its link in the per-stream hash chain:
-- chain = SHA-256(prev_chain ‖ the row's canonical record), chain_seq counting from 1.
ALTER TABLE segment ADD COLUMN data_key_id INTEGER REFERENCES data_key (id);
ALTER TABLE segment ADD COLUMN nonce_prefix BLOB;
ALTER TABLE segment ADD COLUMN stored_bytes INTEGER;
ALTER TABLE segment ADD COLUMN chain_seq INTEGER;
ALTER TABLE segment ADD COLUMN prev_chain BLOB;
ALTER TABLE segment ADD COLUMN chain BLOB;

-- The head of each stream's chain (survives the erasure of every segment).
CREATE TABLE chain_state (
    camera_id INTEGER NOT NULL REFERENCES camera (id),
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    head BLOB NOT NULL,
    PRIMARY KEY (camera_id, stream)
);

-- Chain heads signed with the installation's Ed25519 key.
CREATE TABLE chain_signature (
    id INTEGER PRIMARY KEY,
    camera_id INTEGER NOT NULL REFERENCES camera (id),
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    head BLOB NOT NULL,
    signed_at_us INTEGER NOT NULL,
    signature BLOB NOT NULL
);

-- 消去: one record per erasure — what, when, under which rule; never the content.
CREATE TABLE erasure (
    id INTEGER PRIMARY KEY,
    camera_id INTEGER NOT NULL REFERENCES camera (id),
    stream TEXT NOT NULL,
    from_us INTEGER NOT NULL,
    to_us INTEGER NOT NULL,
    segments INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    erased_at_us INTEGER NOT NULL,
    -- retention | disk_pressure
    rule TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    keys_destroyed INTEGER NOT NULL DEFAULT 0
);

-- The chain links of erased segments, so that `verify` can tell erasure from removal.
CREATE TABLE erased_segment (
    segment_id INTEGER PRIMARY KEY,
    erasure_id INTEGER NOT NULL REFERENCES erasure (id),
    camera_id INTEGER NOT NULL,
    stream TEXT NOT NULL,
    chain_seq INTEGER NOT NULL,
    prev_chain BLOB NOT NULL,
    chain BLOB NOT NULL
);

-- 保存期間の延長: footage of some cameras and a time range kept beyond retention,
-- with a reason and an end date. Never erased while active, not even under disk pressure.
CREATE TABLE hold (
    id INTEGER PRIMARY KEY,
    from_us INTEGER NOT NULL,
    to_us INTEGER NOT NULL,
    -- The hold ends at this instant (its end date).
    until_us INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_by INTEGER REFERENCES app_user (id),
    created_at_us INTEGER NOT NULL,
    released_by INTEGER REFERENCES app_user (id),
    released_at_us INTEGER
);

CREATE TABLE hold_camera (
    hold_id INTEGER NOT NULL REFERENCES hold (id),
    camera_id INTEGER NOT NULL REFERENCES camera (id),
    PRIMARY KEY (hold_id, camera_id)
);

-- Governance events (holds created, changed, released; erasures), written through one
-- function. The audit issue chains and signs them.
CREATE TABLE governance_event (
    id INTEGER PRIMARY KEY,
    at_us INTEGER NOT NULL,
    actor_user_id INTEGER REFERENCES app_user (id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);

-- Results of `mimamori verify`, shown in the UI.
CREATE TABLE verify_run (
    id INTEGER PRIMARY KEY,
    at_us INTEGER NOT NULL,
    segments INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    problems INTEGER NOT NULL,
    -- The first problems found, one per line.
    summary TEXT NOT NULL
);
