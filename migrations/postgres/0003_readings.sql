-- The reading store (src/monitor/readings): an ingest log for durability and compressed
-- blocks for history. See the module documentation for the binary formats.

-- One row per group commit: the readings of one or more ingest batches in one compact
-- body. Rows are deleted by the compaction that moves their readings into blocks.
CREATE TABLE reading_log (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_ms BIGINT NOT NULL,
    body BYTEA NOT NULL
);

-- One row per sensor and compaction (later merged per UTC day): the points of
-- [t_min, t_max], sorted, without duplicates, with their aggregates.
CREATE TABLE reading_blocks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sensor_num BIGINT NOT NULL,
    t_min BIGINT NOT NULL,
    t_max BIGINT NOT NULL,
    n BIGINT NOT NULL,
    v_min DOUBLE PRECISION NOT NULL,
    v_max DOUBLE PRECISION NOT NULL,
    v_sum DOUBLE PRECISION NOT NULL,
    data BYTEA NOT NULL
);
CREATE INDEX reading_blocks_sensor_t_max ON reading_blocks(sensor_num, t_max);

-- The bodies and blocks are compressed already: spare TOAST its futile pglz attempt.
ALTER TABLE reading_log ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE reading_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
