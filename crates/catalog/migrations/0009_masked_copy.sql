-- A masked copy (Osaka 第5条5, Chiba 第2-7(1)エ): a package derived from another
-- of the same request, its clips re-encoded with areas filled. The original is
-- never altered; both keep their hashes.
ALTER TABLE provision_package ADD COLUMN derived_from INTEGER REFERENCES provision_package (id);
-- The areas filled, as JSON (camera, rectangle in pixels, time span in seconds).
ALTER TABLE provision_package ADD COLUMN masks TEXT NOT NULL DEFAULT '';
