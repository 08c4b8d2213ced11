-- Dissemination of published warnings (src/warning/dispatch): the public's and the staff's
-- subscriptions, and one delivery row per recipient and channel of each message, which is the
-- persistent queue of the dispatcher. See docs/warnings.md, "Dissemination internals".

CREATE TABLE subscribers (
    id TEXT PRIMARY KEY,
    town_code TEXT NOT NULL REFERENCES admin_units(code),
    name TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'webhook')),
    -- Mobile number, e-mail address or URL, normalised when stored.
    address TEXT NOT NULL,
    -- People served by this address: 1 for a person, more for a village loudspeaker or group.
    reach BIGINT NOT NULL DEFAULT 1 CHECK (reach >= 1),
    -- 'staff' subscribers (village cadres, entered by staff) also get restricted warnings.
    audience TEXT NOT NULL DEFAULT 'public' CHECK (audience IN ('public', 'staff')),
    consent_at BIGINT NOT NULL,
    consent_text TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('staff-entered', 'public')),
    -- SHA-256 of the unsubscribe token; the token itself is shown once.
    unsubscribe_token_hash TEXT NOT NULL,
    unsubscribed_at BIGINT,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX subscribers_unsubscribe_token ON subscribers(unsubscribe_token_hash);
-- One active subscription per address, channel and town (unsubscribed ones are history).
CREATE UNIQUE INDEX subscribers_active_address ON subscribers(channel, address, town_code) WHERE unsubscribed_at IS NULL;
CREATE INDEX subscribers_town ON subscribers(town_code, channel);

-- The queue. queued → sending (leased) → delivered | failed (retry at next_attempt_at) | dead.
-- The unique key makes a message go to a recipient over a channel at most once, however often
-- it is enqueued.
CREATE TABLE deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    warning_id TEXT NOT NULL REFERENCES warnings(id) ON DELETE CASCADE,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('staff', 'enterprise', 'subscriber')),
    recipient_id TEXT NOT NULL,
    -- The recipient's town; NULL for district-wide staff.
    town_code TEXT,
    channel TEXT NOT NULL CHECK (channel IN ('webhook', 'email', 'sms', 'live')),
    address TEXT NOT NULL DEFAULT '',
    -- The subscriber's reach when enqueued (coverage counts it once delivered).
    reach BIGINT NOT NULL DEFAULT 1,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'delivered', 'failed', 'dead')),
    -- Sends started; also the fencing token of a lease (a reclaimed row has a higher count).
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    -- The gateway's message id, HTTP status or SMTP reply.
    receipt TEXT,
    delivered_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT deliveries_once UNIQUE (warning_id, recipient_kind, recipient_id, channel)
);
-- The dispatcher's scans: due rows in order, and leases that ran out.
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE state IN ('queued', 'failed');
CREATE INDEX deliveries_leased ON deliveries(lease_until) WHERE state = 'sending';
CREATE INDEX deliveries_warning ON deliveries(warning_id, state);
