-- Foundation: administrative units, enterprises, facilities, users, sessions, audit log.
-- Timestamps are UTC epoch milliseconds; ids are lower-case ULIDs; JSON is TEXT.

CREATE TABLE admin_units (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('district', 'street', 'town', 'park')),
    parent_code TEXT REFERENCES admin_units(code),
    population INTEGER,
    population_approximate INTEGER NOT NULL DEFAULT 0,
    geometry TEXT,
    geometry_approximate INTEGER NOT NULL DEFAULT 0,
    seat_lon REAL,
    seat_lat REAL,
    seat_approximate INTEGER NOT NULL DEFAULT 0,
    area_km2 REAL,
    source TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);

CREATE TABLE enterprises (
    id TEXT PRIMARY KEY,
    credit_code TEXT NOT NULL,
    name TEXT NOT NULL,
    town_code TEXT NOT NULL REFERENCES admin_units(code),
    address TEXT NOT NULL DEFAULT '',
    lon REAL,
    lat REAL,
    industry_section TEXT NOT NULL,
    industry_division TEXT,
    scale TEXT NOT NULL CHECK (scale IN ('above', 'below')),
    staff_count INTEGER,
    legal_rep TEXT NOT NULL DEFAULT '',
    safety_manager TEXT NOT NULL DEFAULT '',
    safety_phone TEXT NOT NULL DEFAULT '',
    -- Hazard flag keys wrapped in commas (",hazchem_storage,warehousing,") so that one
    -- LIKE filter works the same on both backends.
    flags TEXT NOT NULL DEFAULT ',',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT enterprises_credit_code_key UNIQUE (credit_code)
);
CREATE INDEX enterprises_town ON enterprises(town_code);
CREATE INDEX enterprises_name ON enterprises(name);

CREATE TABLE facilities (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('school', 'hospital', 'elderly_home', 'market')),
    town_code TEXT NOT NULL REFERENCES admin_units(code),
    address TEXT NOT NULL DEFAULT '',
    lon REAL,
    lat REAL,
    people INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX facilities_town ON facilities(town_code);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'duty', 'supervisor', 'leader', 'town', 'enterprise')),
    town_code TEXT REFERENCES admin_units(code),
    enterprise_id TEXT REFERENCES enterprises(id),
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    ts INTEGER NOT NULL,
    user_id TEXT,
    username TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX audit_log_ts ON audit_log(ts);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id);
