-- Several recorder nodes on one catalog (issue 12): each node's heartbeat, and
-- which node records which camera until when (a lease, renewed while it lives).
CREATE TABLE recorder_node (
    name TEXT NOT NULL PRIMARY KEY,
    address TEXT NOT NULL DEFAULT '',
    started_at_us INTEGER NOT NULL,
    heartbeat_at_us INTEGER NOT NULL
);

CREATE TABLE camera_lease (
    camera_id INTEGER NOT NULL PRIMARY KEY REFERENCES camera (id),
    node TEXT NOT NULL,
    since_us INTEGER NOT NULL,
    until_us INTEGER NOT NULL
);
