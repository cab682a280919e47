-- An extension kept on external media (Tottori 5(3): 外部記録媒体に保管することにより
-- 保存期間を延長): which medium holds the copy. The media register comes later.
ALTER TABLE hold ADD COLUMN medium TEXT;

-- Finding the segments of a data key (to destroy keys nothing needs) must not scan.
CREATE INDEX segment_by_data_key ON segment (data_key_id);
