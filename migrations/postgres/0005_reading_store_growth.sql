-- A compaction of the reading store that has begun and not finished. Compaction commits its
-- blocks in several short transactions and deletes the log rows it covers together with
-- this row at the end. Blocks with an id above `after_block` belong to the unfinished
-- compaction: after a crash, or before a failed compaction is retried, they are deleted and
-- their readings come from the log again. At most one row.
CREATE TABLE reading_compaction (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    after_block BIGINT NOT NULL
);

-- Two levels of blocks, each with an index of its own, so a compaction's inserts touch an
-- index that does not grow with the retained history. Level 0: blocks written by
-- compaction and today's merges. Level 1: one block per sensor and finished UTC day,
-- written once by the merge. See the SQLite migration for the measurement.
ALTER TABLE reading_blocks ADD COLUMN level SMALLINT NOT NULL DEFAULT 0;
DROP INDEX reading_blocks_sensor_t_max;
CREATE INDEX reading_blocks_l0 ON reading_blocks(sensor_num, t_max) WHERE level = 0;
CREATE INDEX reading_blocks_l1 ON reading_blocks(sensor_num, t_max) WHERE level = 1;
