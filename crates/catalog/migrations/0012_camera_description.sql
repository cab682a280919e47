-- What a camera is for and what it sees (REQ-PUR-1, Kitakyushu 別表1; REQ-SIG-1):
-- where it is installed, its installation purpose, the range it shoots, and
-- where its sign hangs. Empty until the manager describes the camera.
ALTER TABLE camera ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE camera ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
ALTER TABLE camera ADD COLUMN coverage TEXT NOT NULL DEFAULT '';
ALTER TABLE camera ADD COLUMN sign_location TEXT NOT NULL DEFAULT '';
