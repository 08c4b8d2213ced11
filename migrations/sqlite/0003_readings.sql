-- The reading store (src/monitor/readings): an ingest log for durability and compressed
-- blocks for history. See the module documentation for the binary formats.

-- One row per group commit: the readings of one or more ingest batches in one compact
-- body. Rows are deleted by the compaction that moves their readings into blocks.
-- AUTOINCREMENT so a seq is never reused after compaction empties the table.
CREATE TABLE reading_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    body BLOB NOT NULL
);

-- One row per sensor and compaction (later merged per UTC day): the points of
-- [t_min, t_max], sorted, without duplicates, with their aggregates. `data` last so a scan
-- of the other columns does not read the blob's overflow pages.
CREATE TABLE reading_blocks (
    id INTEGER PRIMARY KEY,
    sensor_num INTEGER NOT NULL,
    t_min INTEGER NOT NULL,
    t_max INTEGER NOT NULL,
    n INTEGER NOT NULL,
    v_min REAL NOT NULL,
    v_max REAL NOT NULL,
    v_sum REAL NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX reading_blocks_sensor_t_max ON reading_blocks(sensor_num, t_max);
