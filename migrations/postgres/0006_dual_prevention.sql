-- Dual prevention (src/dualprev): risk points and their assessments, check tasks and records,
-- hidden dangers with their timeline and photos, daily safety commitments.

-- A risk point (risk unit) of an enterprise with its current assessment; hazards, accident
-- types (GB 6441 codes) and control measures are JSON arrays.
CREATE TABLE risk_points (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    town_code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('place', 'equipment', 'activity')),
    location TEXT NOT NULL DEFAULT '',
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    hazards TEXT NOT NULL DEFAULT '[]',
    accident_types TEXT NOT NULL DEFAULT '[]',
    control_measures TEXT NOT NULL DEFAULT '[]',
    control_level TEXT NOT NULL CHECK (control_level IN ('company', 'workshop', 'team', 'post')),
    responsible_person TEXT NOT NULL,
    responsible_phone TEXT NOT NULL DEFAULT '',
    method TEXT CHECK (method IN ('lec', 'ls')),
    l DOUBLE PRECISION,
    e DOUBLE PRECISION,
    c DOUBLE PRECISION,
    s DOUBLE PRECISION,
    score DOUBLE PRECISION,
    colour TEXT CHECK (colour IN ('red', 'orange', 'yellow', 'blue')),
    -- 0 unassessed, 1 blue … 4 red: MAX() gives an enterprise's colour on both backends.
    colour_rank BIGINT NOT NULL DEFAULT 0,
    assessed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX risk_points_enterprise ON risk_points(enterprise_id);
CREATE INDEX risk_points_town ON risk_points(town_code, colour_rank);

-- Every assessment, kept as history, with the colour bands that were in force.
CREATE TABLE risk_assessments (
    id TEXT PRIMARY KEY,
    risk_point_id TEXT NOT NULL REFERENCES risk_points(id) ON DELETE CASCADE,
    method TEXT NOT NULL CHECK (method IN ('lec', 'ls')),
    l DOUBLE PRECISION NOT NULL,
    e DOUBLE PRECISION,
    c DOUBLE PRECISION,
    s DOUBLE PRECISION,
    score DOUBLE PRECISION NOT NULL,
    colour TEXT NOT NULL CHECK (colour IN ('red', 'orange', 'yellow', 'blue')),
    bands TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    assessed_at BIGINT NOT NULL,
    assessed_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    assessor_name TEXT NOT NULL DEFAULT ''
);
CREATE INDEX risk_assessments_point ON risk_assessments(risk_point_id, assessed_at);

-- A hidden danger followed from report to closure; the rectification plan is the
-- "five in place" (measures, funds, responsible person, deadline, contingency).
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
    found_at BIGINT NOT NULL,
    reported_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    state TEXT NOT NULL CHECK (state IN ('reported', 'rectifying', 'awaiting_acceptance', 'closed')),
    measures TEXT,
    funds DOUBLE PRECISION,
    responsible_person TEXT,
    deadline BIGINT,
    contingency TEXT,
    rectification_result TEXT,
    rectified_at BIGINT,
    closed_at BIGINT,
    closed_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    close_evidence TEXT,
    -- Set once, when the sweep first finds it open past its deadline.
    overdue_at BIGINT,
    -- Listed for supervision (挂牌督办): level, officer, due date.
    supervision_level TEXT CHECK (supervision_level IN ('town', 'district')),
    supervising_officer_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    supervising_officer TEXT,
    supervision_due BIGINT,
    supervision_listed_at BIGINT,
    supervision_note TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
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
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hidden_danger_id TEXT NOT NULL REFERENCES hidden_dangers(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
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
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    uploaded_by TEXT REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX hidden_danger_photos_hd ON hidden_danger_photos(hidden_danger_id);

-- A periodic check generated from a control measure of a risk point.
CREATE TABLE check_tasks (
    id TEXT PRIMARY KEY,
    risk_point_id TEXT NOT NULL REFERENCES risk_points(id) ON DELETE CASCADE,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    town_code TEXT NOT NULL,
    measure_index BIGINT NOT NULL,
    content TEXT NOT NULL,
    cycle TEXT NOT NULL CHECK (cycle IN ('daily', 'weekly', 'monthly', 'quarterly', 'yearly')),
    assignee_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    assignee_name TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT check_tasks_measure_key UNIQUE (risk_point_id, measure_index)
);
CREATE INDEX check_tasks_enterprise ON check_tasks(enterprise_id);

CREATE TABLE check_records (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES check_tasks(id) ON DELETE CASCADE,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    town_code TEXT NOT NULL,
    -- Start (UTC ms) of the task's period, on the Asia/Shanghai calendar: one record per period.
    period_start BIGINT NOT NULL,
    checked_at BIGINT NOT NULL,
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
    -- The Asia/Shanghai calendar day the commitment is for, YYYY-MM-DD.
    day TEXT NOT NULL,
    committed_at BIGINT NOT NULL,
    committed_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    committer TEXT NOT NULL,
    hazard_sources TEXT NOT NULL DEFAULT '[]',
    ops_hot_work BIGINT NOT NULL DEFAULT 0,
    ops_confined_space BIGINT NOT NULL DEFAULT 0,
    ops_blind_plate BIGINT NOT NULL DEFAULT 0,
    ops_height BIGINT NOT NULL DEFAULT 0,
    ops_lifting BIGINT NOT NULL DEFAULT 0,
    ops_temp_power BIGINT NOT NULL DEFAULT 0,
    ops_excavation BIGINT NOT NULL DEFAULT 0,
    ops_road_closure BIGINT NOT NULL DEFAULT 0,
    startup_shutdown BOOLEAN NOT NULL DEFAULT FALSE,
    maintenance BOOLEAN NOT NULL DEFAULT FALSE,
    notes TEXT NOT NULL DEFAULT '',
    safe_state BOOLEAN NOT NULL,
    late BOOLEAN NOT NULL DEFAULT FALSE,
    -- Why a declared safe state contradicted the enterprise's live state when filed (JSON).
    contradictions TEXT NOT NULL DEFAULT '[]',
    CONSTRAINT commitments_day_key UNIQUE (enterprise_id, day)
);
CREATE INDEX commitments_day ON commitments(day, town_code);
