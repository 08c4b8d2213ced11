-- Major hazard sources (GB 18218-2018): units of an enterprise, their equipment and the
-- chemicals present. The identification and grade are recomputed whenever the inputs change
-- and stored with the full evaluation (every term) as JSON.

CREATE TABLE hazard_units (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('production', 'storage')),
    lon REAL,
    lat REAL,
    exposed_population INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    s REAL,
    r REAL,
    grade INTEGER,
    is_major INTEGER NOT NULL DEFAULT 0,
    evaluation TEXT,
    evaluation_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX hazard_units_enterprise ON hazard_units(enterprise_id);

CREATE TABLE hazard_substances (
    id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL REFERENCES hazard_units(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    cas TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    quantity_t REAL NOT NULL,
    critical_t REAL,
    beta REAL,
    override_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX hazard_substances_unit ON hazard_substances(unit_id);

CREATE TABLE hazard_equipment (
    id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL REFERENCES hazard_units(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('tank', 'reactor', 'warehouse', 'pipeline', 'other')),
    capacity TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX hazard_equipment_unit ON hazard_equipment(unit_id);

-- Sensors of a unit or a piece of equipment. `num` is a compact integer key for the reading
-- store (blocks and the ingest log carry it instead of the text id).
CREATE TABLE sensors (
    id TEXT PRIMARY KEY,
    num INTEGER NOT NULL,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    unit_id TEXT REFERENCES hazard_units(id) ON DELETE SET NULL,
    equipment_id TEXT REFERENCES hazard_equipment(id) ON DELETE SET NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('level', 'temperature', 'pressure', 'flow', 'gas_lel', 'gas_toxic', 'other')),
    unit_of_measure TEXT NOT NULL DEFAULT '',
    range_min REAL NOT NULL,
    range_max REAL NOT NULL,
    ll REAL,
    l REAL,
    h REAL,
    hh REAL,
    deadband REAL NOT NULL DEFAULT 0,
    on_delay_s REAL NOT NULL DEFAULT 0,
    off_delay_s REAL NOT NULL DEFAULT 0,
    offline_timeout_s REAL NOT NULL DEFAULT 300,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT sensors_num_key UNIQUE (num),
    CONSTRAINT sensors_enterprise_code_key UNIQUE (enterprise_id, code)
);

-- Per-enterprise ingest tokens for sensor gateways (only the hash is kept).
CREATE TABLE ingest_tokens (
    token_hash TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ingest_tokens_enterprise ON ingest_tokens(enterprise_id);
