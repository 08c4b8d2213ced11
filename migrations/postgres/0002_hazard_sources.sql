-- Major hazard sources (GB 18218-2018): units of an enterprise, their equipment and the
-- chemicals present. The identification and grade are recomputed whenever the inputs change
-- and stored with the full evaluation (every term) as JSON.

CREATE TABLE hazard_units (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('production', 'storage')),
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    exposed_population BIGINT NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    s DOUBLE PRECISION,
    r DOUBLE PRECISION,
    grade BIGINT,
    is_major BOOLEAN NOT NULL DEFAULT FALSE,
    evaluation TEXT,
    evaluation_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX hazard_units_enterprise ON hazard_units(enterprise_id);

CREATE TABLE hazard_substances (
    id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL REFERENCES hazard_units(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    cas TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    quantity_t DOUBLE PRECISION NOT NULL,
    critical_t DOUBLE PRECISION,
    beta DOUBLE PRECISION,
    override_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX hazard_substances_unit ON hazard_substances(unit_id);

CREATE TABLE hazard_equipment (
    id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL REFERENCES hazard_units(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('tank', 'reactor', 'warehouse', 'pipeline', 'other')),
    capacity TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX hazard_equipment_unit ON hazard_equipment(unit_id);

-- Sensors of a unit or a piece of equipment. `num` is a compact integer key for the reading
-- store (blocks and the ingest log carry it instead of the text id).
CREATE TABLE sensors (
    id TEXT PRIMARY KEY,
    num BIGINT NOT NULL,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    unit_id TEXT REFERENCES hazard_units(id) ON DELETE SET NULL,
    equipment_id TEXT REFERENCES hazard_equipment(id) ON DELETE SET NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('level', 'temperature', 'pressure', 'flow', 'gas_lel', 'gas_toxic', 'other')),
    unit_of_measure TEXT NOT NULL DEFAULT '',
    range_min DOUBLE PRECISION NOT NULL,
    range_max DOUBLE PRECISION NOT NULL,
    ll DOUBLE PRECISION,
    l DOUBLE PRECISION,
    h DOUBLE PRECISION,
    hh DOUBLE PRECISION,
    deadband DOUBLE PRECISION NOT NULL DEFAULT 0,
    on_delay_s DOUBLE PRECISION NOT NULL DEFAULT 0,
    off_delay_s DOUBLE PRECISION NOT NULL DEFAULT 0,
    offline_timeout_s DOUBLE PRECISION NOT NULL DEFAULT 300,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT sensors_num_key UNIQUE (num),
    CONSTRAINT sensors_enterprise_code_key UNIQUE (enterprise_id, code)
);

-- Per-enterprise ingest tokens for sensor gateways (only the hash is kept).
CREATE TABLE ingest_tokens (
    token_hash TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX ingest_tokens_enterprise ON ingest_tokens(enterprise_id);
