-- What the node recording a camera reports of it, renewed with its lease every
-- round (issue 12: a web node, or any other, shows the status of cameras
-- recorded elsewhere): the main stream's state, reason, since, last frame,
-- codec and size, as JSON.
ALTER TABLE camera_lease ADD COLUMN status TEXT NOT NULL DEFAULT '';
