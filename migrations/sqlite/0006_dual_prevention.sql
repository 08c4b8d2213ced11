-- Dual prevention (src/dualprev): risk points and their assessments, check tasks and records,
-- hidden dangers with their timeline and photos, daily safety commitments.
-- See the PostgreSQL migration for notes; the two differ only in types.

CREATE TABLE risk_points (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    town_code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('place', 'equipment', 'activity')),
    location TEXT NOT NULL DEFAULT '',
    lon REAL,
    lat REAL,
    hazards TEXT NOT NULL DEFAULT '[]',
    accident_types TEXT NOT NULL DEFAULT '[]',
    control_measures TEXT NOT NULL DEFAULT '[]',
    control_level TEXT NOT NULL CHECK (control_level IN ('company', 'workshop', 'team', 'post')),
    responsible_person TEXT NOT NULL,
    responsible_phone TEXT NOT NULL DEFAULT '',
    method TEXT CHECK (method IN ('lec', 'ls')),
    l REAL,
    e REAL,
    c REAL,
    s REAL,
    score REAL,
    colour TEXT CHECK (colour IN ('red', 'orange', 'yellow', 'blue')),
    colour_rank INTEGER NOT NULL DEFAULT 0,
    assessed_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX risk_points_enterprise ON risk_points(enterprise_id);
CREATE INDEX risk_points_town ON risk_points(town_code, colour_rank);

CREATE TABLE risk_assessments (
    id TEXT PRIMARY KEY,
    risk_point_id TEXT NOT NULL REFERENCES risk_points(id) ON DELETE CASCADE,
    method TEXT NOT NULL CHECK (method IN ('lec', 'ls')),
    l REAL NOT NULL,
    e REAL,
    c REAL,
    s REAL,
    score REAL NOT NULL,
    colour TEXT NOT NULL CHECK (colour IN ('red', 'orange', 'yellow', 'blue')),
    bands TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    assessed_at INTEGER NOT NULL,
    assessed_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    assessor_name TEXT NOT NULL DEFAULT ''
);
CREATE INDEX risk_assessments_point ON risk_assessments(risk_point_id, assessed_at);

CREATE TABLE hidden_dangers (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    town_code TEXT NOT NULL,
    risk_point_id TEXT REFERENCES risk_points(id) ON DELETE SET NULL,
    alarm_id TEXT REFERENCES alarms(id) ON DELETE SET NULL,
    location TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('self_check', 'inspection', 'grid_patrol', 'public_report', 'sensor_alarm')),
    category TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('general', 'major')),
    found_by TEXT NOT NULL,
    found_at INTEGER NOT NULL,
    reported_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    state TEXT NOT NULL CHECK (state IN ('reported', 'rectifying', 'awaiting_acceptance', 'closed')),
    measures TEXT,
    funds REAL,
    responsible_person TEXT,
    deadline INTEGER,
    contingency TEXT,
    rectification_result TEXT,
    rectified_at INTEGER,
    closed_at INTEGER,
    closed_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    close_evidence TEXT,
    overdue_at INTEGER,
    supervision_level TEXT CHECK (supervision_level IN ('town', 'district')),
    supervising_officer_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    supervising_officer TEXT,
    supervision_due INTEGER,
    supervision_listed_at INTEGER,
    supervision_note TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX hidden_dangers_enterprise ON hidden_dangers(enterprise_id, found_at);
CREATE INDEX hidden_dangers_town ON hidden_dangers(town_code, found_at);
CREATE INDEX hidden_dangers_found ON hidden_dangers(found_at);
CREATE INDEX hidden_dangers_open_deadline ON hidden_dangers(deadline)
    WHERE state <> 'closed' AND overdue_at IS NULL AND deadline IS NOT NULL;
CREATE INDEX hidden_dangers_supervised ON hidden_dangers(supervision_due)
    WHERE supervision_level IS NOT NULL AND state <> 'closed';
CREATE UNIQUE INDEX hidden_dangers_one_per_alarm ON hidden_dangers(alarm_id) WHERE alarm_id IS NOT NULL;

CREATE TABLE hidden_danger_timeline (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hidden_danger_id TEXT NOT NULL REFERENCES hidden_dangers(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    actor_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    actor_name TEXT,
    detail TEXT
);
CREATE INDEX hidden_danger_timeline_hd ON hidden_danger_timeline(hidden_danger_id, id);

CREATE TABLE hidden_danger_photos (
    id TEXT PRIMARY KEY,
    hidden_danger_id TEXT NOT NULL REFERENCES hidden_dangers(id) ON DELETE CASCADE,
    stage TEXT NOT NULL CHECK (stage IN ('found', 'rectified')),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL,
    uploaded_by TEXT REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX hidden_danger_photos_hd ON hidden_danger_photos(hidden_danger_id);

CREATE TABLE check_tasks (
    id TEXT PRIMARY KEY,
    risk_point_id TEXT NOT NULL REFERENCES risk_points(id) ON DELETE CASCADE,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    town_code TEXT NOT NULL,
    measure_index INTEGER NOT NULL,
    content TEXT NOT NULL,
    cycle TEXT NOT NULL CHECK (cycle IN ('daily', 'weekly', 'monthly', 'quarterly', 'yearly')),
    assignee_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    assignee_name TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT check_tasks_measure_key UNIQUE (risk_point_id, measure_index)
);
CREATE INDEX check_tasks_enterprise ON check_tasks(enterprise_id);

CREATE TABLE check_records (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES check_tasks(id) ON DELETE CASCADE,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    town_code TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    checked_at INTEGER NOT NULL,
    checked_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    checker_name TEXT NOT NULL,
    result TEXT NOT NULL CHECK (result IN ('ok', 'findings')),
    findings TEXT NOT NULL DEFAULT '',
    hidden_danger_id TEXT REFERENCES hidden_dangers(id) ON DELETE SET NULL,
    CONSTRAINT check_records_period_key UNIQUE (task_id, period_start)
);
CREATE INDEX check_records_enterprise ON check_records(enterprise_id, checked_at);

CREATE TABLE commitments (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    town_code TEXT NOT NULL,
    day TEXT NOT NULL,
    committed_at INTEGER NOT NULL,
    committed_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    committer TEXT NOT NULL,
    hazard_sources TEXT NOT NULL DEFAULT '[]',
    ops_hot_work INTEGER NOT NULL DEFAULT 0,
    ops_confined_space INTEGER NOT NULL DEFAULT 0,
    ops_blind_plate INTEGER NOT NULL DEFAULT 0,
    ops_height INTEGER NOT NULL DEFAULT 0,
    ops_lifting INTEGER NOT NULL DEFAULT 0,
    ops_temp_power INTEGER NOT NULL DEFAULT 0,
    ops_excavation INTEGER NOT NULL DEFAULT 0,
    ops_road_closure INTEGER NOT NULL DEFAULT 0,
    startup_shutdown BOOLEAN NOT NULL DEFAULT 0,
    maintenance BOOLEAN NOT NULL DEFAULT 0,
    notes TEXT NOT NULL DEFAULT '',
    safe_state BOOLEAN NOT NULL,
    late BOOLEAN NOT NULL DEFAULT 0,
    contradictions TEXT NOT NULL DEFAULT '[]',
    CONSTRAINT commitments_day_key UNIQUE (enterprise_id, day)
);
CREATE INDEX commitments_day ON commitments(day, town_code);
