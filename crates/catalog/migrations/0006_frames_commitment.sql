-- The capture-time commitment to a segment's frames (SHA-256 of the SHA-256 of
-- each frame, in order), covered by the segment's chain link (record v2). NULL
-- for segments recorded before it existed (their records stay v1).
ALTER TABLE segment ADD COLUMN frames_sha256 BLOB;
