-- Monitoring alarms (src/monitor/alarms), their timelines, and the live event log that
-- Server-Sent Events resume from (src/events.rs). See the PostgreSQL migration for notes.

CREATE TABLE alarms (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    town_code TEXT NOT NULL,
    sensor_id TEXT REFERENCES sensors(id) ON DELETE SET NULL,
    kind TEXT NOT NULL CHECK (kind IN ('HH', 'H', 'L', 'LL', 'offline', 'sensor_fault', 'enterprise_offline')),
    severity TEXT NOT NULL CHECK (severity IN ('high', 'low')),
    colour TEXT NOT NULL CHECK (colour IN ('red', 'orange', 'yellow', 'blue')),
    threshold REAL,
    raised_at INTEGER NOT NULL,
    raised_value REAL,
    cleared_at INTEGER,
    cleared_value REAL,
    status TEXT NOT NULL DEFAULT 'unacknowledged' CHECK (status IN ('unacknowledged', 'acknowledged', 'disposed')),
    acknowledged_at INTEGER,
    acknowledged_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    ack_note TEXT,
    disposed_at INTEGER,
    disposed_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    dispose_cause TEXT,
    dispose_measures TEXT,
    dispose_note TEXT,
    assignee_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    escalation TEXT NOT NULL DEFAULT 'enterprise' CHECK (escalation IN ('enterprise', 'town', 'district')),
    escalated_at INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX alarms_one_active_per_sensor_kind ON alarms(sensor_id, kind)
    WHERE cleared_at IS NULL AND sensor_id IS NOT NULL;
CREATE UNIQUE INDEX alarms_one_active_enterprise_offline ON alarms(enterprise_id)
    WHERE cleared_at IS NULL AND kind = 'enterprise_offline';
CREATE INDEX alarms_raised_at ON alarms(raised_at);
CREATE INDEX alarms_enterprise ON alarms(enterprise_id, raised_at);
CREATE INDEX alarms_unacknowledged ON alarms(escalation, raised_at) WHERE status = 'unacknowledged';

CREATE TABLE alarm_timeline (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alarm_id TEXT NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('raised', 'cleared', 'acknowledged', 'disposed', 'assigned', 'escalated')),
    actor_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    actor_name TEXT,
    detail TEXT
);
CREATE INDEX alarm_timeline_alarm ON alarm_timeline(alarm_id, id);

-- AUTOINCREMENT: ids are never reused, so a Last-Event-ID stays meaningful after purges.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    topic TEXT NOT NULL,
    town_code TEXT,
    enterprise_id TEXT,
    payload TEXT NOT NULL
);
CREATE INDEX events_at ON events(at);
