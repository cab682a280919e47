-- Issue 11: which hash a segment's digests use. 1 = SHA-256 (every segment
-- recorded before this migration): `sha256` is the SHA-256 of the stored file and
-- `frames_sha256` the SHA-256 commitment to its frames. 2 = BLAKE3: `sha256` holds
-- the BLAKE3 of the stored file's chunk tags and `frames_sha256` the BLAKE3
-- commitment (the column names stay; the chain record says which, as v3).
ALTER TABLE segment ADD COLUMN digest INTEGER NOT NULL DEFAULT 1;
