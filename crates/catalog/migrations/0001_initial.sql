-- The first schema. Times are integers: microseconds since the Unix epoch (UTC),
-- named *_us; media durations are 90 kHz ticks, named *_90k. No dialect-specific
-- types, so the same file serves PostgreSQL with INTEGER read as BIGINT.

-- 防犯カメラ: a camera and how to reach it.
CREATE TABLE camera (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- 'rtsp', or 'test_pattern' for the built-in synthetic camera of the demo.
    kind TEXT NOT NULL,
    -- RTSP URL of the main stream, without credentials.
    main_url TEXT,
    -- RTSP URL of the optional sub stream, without credentials.
    sub_url TEXT,
    username TEXT,
    -- The camera's RTSP password. Never logged, never returned by the API.
    password TEXT,
    -- Audio is recorded only when configured (sound in public places is a privacy matter).
    record_audio INTEGER NOT NULL DEFAULT 0,
    created_at_us INTEGER NOT NULL,
    -- Set when the camera was removed while footage of it remains.
    removed_at_us INTEGER
);

-- Codec parameters shared by many segments: the MP4 sample entry (avc1/hvc1 box).
CREATE TABLE video_params (
    id INTEGER PRIMARY KEY,
    rfc6381_codec TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    sample_entry BLOB NOT NULL,
    sample_entry_sha256 BLOB NOT NULL UNIQUE
);

-- One stored segment file: about a minute of one stream, cut at key frames.
-- A row exists only once its file is durably on disk.
CREATE TABLE segment (
    id INTEGER PRIMARY KEY,
    camera_id INTEGER NOT NULL REFERENCES camera (id),
    -- 'main' or 'sub'.
    stream TEXT NOT NULL,
    -- Start of the uninterrupted run this segment belongs to: segments of the same
    -- run follow each other without a gap.
    run_start_us INTEGER NOT NULL,
    start_us INTEGER NOT NULL,
    end_us INTEGER NOT NULL,
    duration_90k INTEGER NOT NULL,
    frames INTEGER NOT NULL,
    key_frames INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    video_params_id INTEGER NOT NULL REFERENCES video_params (id),
    -- Path below the data directory's segments/ folder.
    file_name TEXT NOT NULL UNIQUE,
    -- Per frame: size, duration and key flag (see mimamori-media's sample index).
    sample_index BLOB NOT NULL,
    -- SHA-256 of the file as written.
    sha256 BLOB NOT NULL
);
CREATE INDEX segment_by_camera_time ON segment (camera_id, stream, start_us);

-- A span without recording, with the reason we know of.
CREATE TABLE gap (
    id INTEGER PRIMARY KEY,
    camera_id INTEGER NOT NULL REFERENCES camera (id),
    stream TEXT NOT NULL,
    start_us INTEGER NOT NULL,
    -- NULL while the gap is still open.
    end_us INTEGER,
    -- unreachable | auth_failed | stalled | stream_ended | stream_error | recorder_stopped
    reason TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX gap_by_camera_time ON gap (camera_id, stream, start_us);

CREATE TABLE app_user (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    -- argon2id PHC string.
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at_us INTEGER NOT NULL
);

CREATE TABLE user_session (
    -- SHA-256 of the cookie value; the value itself is never stored.
    token_sha256 BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES app_user (id),
    csrf_token TEXT NOT NULL,
    created_at_us INTEGER NOT NULL,
    last_seen_at_us INTEGER NOT NULL,
    expires_at_us INTEGER NOT NULL
);
