-- Early warning (预警发布): one row per CAP message (an update or a cancel is a new row that
-- references the one it replaces), and the district → town relay of each published message.
CREATE TABLE warnings (
    id TEXT PRIMARY KEY,
    -- The CAP identifier: set at publish (GB/T 35965.1) or the issuer's for an import.
    identifier TEXT,
    sender TEXT NOT NULL,
    sender_name TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL CHECK (source IN ('local', 'imported')),
    msg_type TEXT NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
    status TEXT NOT NULL CHECK (status IN ('Actual', 'Exercise', 'System', 'Test', 'Draft')),
    scope TEXT NOT NULL CHECK (scope IN ('public', 'restricted', 'private')),
    event_type TEXT NOT NULL,
    -- The issuer's own event name for imports (CAP <event>).
    event_name TEXT NOT NULL DEFAULT '',
    level TEXT CHECK (level IN ('blue', 'yellow', 'orange', 'red')),
    urgency TEXT NOT NULL,
    severity TEXT NOT NULL,
    certainty TEXT NOT NULL,
    response_type TEXT,
    headline TEXT NOT NULL,
    description TEXT NOT NULL,
    instruction TEXT NOT NULL DEFAULT '',
    headline_en TEXT,
    description_en TEXT,
    instruction_en TEXT,
    -- {"kind":"towns"|"polygon"|"circle"|"imported", ...} as the composer gave it.
    area TEXT NOT NULL,
    area_desc TEXT NOT NULL,
    -- JSON array of the target towns' codes (chosen, or the towns the shape touches).
    town_codes TEXT NOT NULL,
    -- GeoJSON geometry of the area (MultiPolygon; circles as polygons) for maps.
    geometry TEXT,
    effective_at INTEGER NOT NULL,
    onset_at INTEGER,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'published', 'imported', 'relayed', 'superseded', 'cancelled', 'expired')),
    references_id TEXT REFERENCES warnings(id),
    superseded_by_id TEXT REFERENCES warnings(id),
    sent_at INTEGER,
    -- The frozen CAP document (published), or the original document (imported).
    cap_xml TEXT,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    submitted_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    submitted_at INTEGER,
    approved_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    approved_at INTEGER,
    published_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    published_at INTEGER,
    reject_reason TEXT,
    cancel_reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- Imports are idempotent per issuer and identifier; local identifiers are unique too.
CREATE UNIQUE INDEX warnings_sender_identifier ON warnings(sender, identifier);
CREATE INDEX warnings_state ON warnings(state, expires_at);
CREATE INDEX warnings_created ON warnings(created_at);

CREATE TABLE warning_relays (
    id TEXT PRIMARY KEY,
    warning_id TEXT NOT NULL REFERENCES warnings(id) ON DELETE CASCADE,
    town_code TEXT NOT NULL REFERENCES admin_units(code),
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    escalated_at INTEGER,
    disseminated_at INTEGER,
    disseminated_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    channels TEXT NOT NULL DEFAULT '[]',
    people_reached INTEGER,
    note TEXT NOT NULL DEFAULT '',
    CONSTRAINT warning_relays_once UNIQUE (warning_id, town_code)
);
CREATE INDEX warning_relays_town ON warning_relays(town_code, created_at);
CREATE INDEX warning_relays_pending ON warning_relays(due_at) WHERE acknowledged_at IS NULL AND escalated_at IS NULL;
