-- A compaction of the reading store that has begun and not finished. Compaction commits its
-- blocks in several short transactions (so the ingest log never waits long for SQLite's one
-- writer) and deletes the log rows it covers together with this row at the end. Blocks with
-- an id above `after_block` belong to the unfinished compaction: after a crash, or before a
-- failed compaction is retried, they are deleted and their readings come from the log again.
-- At most one row.
CREATE TABLE reading_compaction (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    after_block INTEGER NOT NULL
);

-- Two levels of blocks, each with an index of its own, so a compaction's inserts touch an
-- index that does not grow with the retained history. Level 0: blocks written by
-- compaction and today's merges, a day or so of them. Level 1: one block per sensor and
-- finished UTC day, written once by the merge. With one index over all blocks, every
-- compaction inserted one entry per sensor into each sensor's part of an index that holds
-- 400 days: ten thousand sensors meant ten thousand index pages rewritten per compaction
-- (40 MB), and the insert took four times as long as into an empty table. Blocks that were
-- there before are level 0; the merge moves them up day by day.
ALTER TABLE reading_blocks ADD COLUMN level INTEGER NOT NULL DEFAULT 0;
DROP INDEX reading_blocks_sensor_t_max;
CREATE INDEX reading_blocks_l0 ON reading_blocks(sensor_num, t_max) WHERE level = 0;
CREATE INDEX reading_blocks_l1 ON reading_blocks(sensor_num, t_max) WHERE level = 1;
