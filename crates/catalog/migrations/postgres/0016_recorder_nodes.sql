-- Several recorder nodes on one catalog (issue 12): each node's heartbeat, and
-- which node records which camera until when (a lease, renewed while it lives).
CREATE TABLE recorder_node (
    name TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    address TEXT COLLATE "C" NOT NULL DEFAULT '',
    started_at_us BIGINT NOT NULL,
    heartbeat_at_us BIGINT NOT NULL
);

CREATE TABLE camera_lease (
    camera_id BIGINT NOT NULL PRIMARY KEY,
    node TEXT COLLATE "C" NOT NULL,
    since_us BIGINT NOT NULL,
    until_us BIGINT NOT NULL
);

ALTER TABLE camera_lease ADD FOREIGN KEY (camera_id) REFERENCES camera (id) DEFERRABLE;
