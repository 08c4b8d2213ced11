-- Monitoring alarms (src/monitor/alarms), their timelines, and the live event log that
-- Server-Sent Events resume from (src/events.rs).

-- One row per alarm: raised by the state machine, cleared when its condition ends, and
-- followed through acknowledgement, disposal, assignment and escalation by people.
CREATE TABLE alarms (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    -- Copied from the enterprise when raised, so scope filters need no join.
    town_code TEXT NOT NULL,
    -- NULL for enterprise-offline alarms, and once the sensor is deleted.
    sensor_id TEXT REFERENCES sensors(id) ON DELETE SET NULL,
    kind TEXT NOT NULL CHECK (kind IN ('HH', 'H', 'L', 'LL', 'offline', 'sensor_fault', 'enterprise_offline')),
    severity TEXT NOT NULL CHECK (severity IN ('high', 'low')),
    colour TEXT NOT NULL CHECK (colour IN ('red', 'orange', 'yellow', 'blue')),
    threshold DOUBLE PRECISION,
    raised_at BIGINT NOT NULL,
    raised_value DOUBLE PRECISION,
    cleared_at BIGINT,
    cleared_value DOUBLE PRECISION,
    status TEXT NOT NULL DEFAULT 'unacknowledged' CHECK (status IN ('unacknowledged', 'acknowledged', 'disposed')),
    acknowledged_at BIGINT,
    acknowledged_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    ack_note TEXT,
    disposed_at BIGINT,
    disposed_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    dispose_cause TEXT,
    dispose_measures TEXT,
    dispose_note TEXT,
    assignee_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    escalation TEXT NOT NULL DEFAULT 'enterprise' CHECK (escalation IN ('enterprise', 'town', 'district')),
    escalated_at BIGINT,
    updated_at BIGINT NOT NULL
);
-- One active alarm per sensor and kind, and one active enterprise-offline alarm per enterprise.
CREATE UNIQUE INDEX alarms_one_active_per_sensor_kind ON alarms(sensor_id, kind)
    WHERE cleared_at IS NULL AND sensor_id IS NOT NULL;
CREATE UNIQUE INDEX alarms_one_active_enterprise_offline ON alarms(enterprise_id)
    WHERE cleared_at IS NULL AND kind = 'enterprise_offline';
CREATE INDEX alarms_raised_at ON alarms(raised_at);
CREATE INDEX alarms_enterprise ON alarms(enterprise_id, raised_at);
-- The escalation sweep looks only at unacknowledged alarms.
CREATE INDEX alarms_unacknowledged ON alarms(escalation, raised_at) WHERE status = 'unacknowledged';

-- The life of an alarm, step by step.
CREATE TABLE alarm_timeline (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alarm_id TEXT NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('raised', 'cleared', 'acknowledged', 'disposed', 'assigned', 'escalated')),
    actor_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    actor_name TEXT,
    detail TEXT
);
CREATE INDEX alarm_timeline_alarm ON alarm_timeline(alarm_id, id);

-- Live events for Server-Sent Events, kept a few days so clients resume with Last-Event-ID.
-- Rows are inserted under a transaction-scoped advisory lock, so ids commit in order and a
-- reader that has seen id N never later finds a smaller one appear.
CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    topic TEXT NOT NULL,
    -- Scope of the event: NULL town means district-wide.
    town_code TEXT,
    enterprise_id TEXT,
    payload TEXT NOT NULL
);
CREATE INDEX events_at ON events(at);
