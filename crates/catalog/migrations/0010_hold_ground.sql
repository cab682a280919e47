-- The ground of an exception to erasure (REQ-RET-4, Midori 第7条3): an id of the
-- policy's [retention] hold_grounds, or empty where the policy lists none (and
-- for the holds of requests, whose ground is the request's).
ALTER TABLE hold ADD COLUMN ground TEXT NOT NULL DEFAULT '';
