-- Monitoring: counters the dashboards and alerts read (never the events themselves), alert states
-- and their transitions, outbound webhooks with their delivery log, and pauses.

-- Counters per 5-minute bucket: overall (`all`, name ''), per mailbox provider (`isp`), per
-- campaign and per stream, added to in the same transaction as the events they count.
CREATE TABLE metric_buckets (
    dimension      TEXT    NOT NULL CHECK (dimension IN ('all', 'isp', 'campaign', 'stream')),
    bucket         INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    sent           INTEGER NOT NULL DEFAULT 0,
    delivered      INTEGER NOT NULL DEFAULT 0,
    hard           INTEGER NOT NULL DEFAULT 0,
    soft           INTEGER NOT NULL DEFAULT 0,
    blocked        INTEGER NOT NULL DEFAULT 0,
    complaint      INTEGER NOT NULL DEFAULT 0,
    unsubscribe    INTEGER NOT NULL DEFAULT 0,
    soft_started   INTEGER NOT NULL DEFAULT 0,
    soft_recovered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dimension, bucket, name)
) WITHOUT ROWID;

-- Entries added and lifted per UTC day and reason: the growth of the list.
CREATE TABLE suppression_daily (
    day    INTEGER NOT NULL,
    reason TEXT    NOT NULL,
    added  INTEGER NOT NULL DEFAULT 0,
    lifted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, reason)
) WITHOUT ROWID;

CREATE TABLE alert_states (
    metric     TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    level      TEXT    NOT NULL CHECK (level IN ('ok', 'warning', 'critical', 'resolved')),
    value      REAL    NOT NULL,
    volume     INTEGER NOT NULL,
    since      INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (metric, scope)
);

CREATE TABLE alert_transitions (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    metric     TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    from_level TEXT    NOT NULL,
    to_level   TEXT    NOT NULL,
    value      REAL    NOT NULL,
    volume     INTEGER NOT NULL,
    threshold  REAL    NOT NULL,
    pause_id   INTEGER
);

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    url        TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    format     TEXT    NOT NULL CHECK (format IN ('json', 'slack')),
    enabled    BOOLEAN NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL
);

-- The outbox: a notification is written with the change that caused it, then delivered (and
-- retried with back-off) by a worker; each row is its delivery log.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id),
    created_at      INTEGER NOT NULL,
    event           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);

-- Paused scopes (`all`, `isp:NAME`, `campaign:NAME`); at most one active pause per scope. The
-- `mta_*` columns track the KumoMTA suspension that mirrors it.
CREATE TABLE pauses (
    id             INTEGER PRIMARY KEY,
    scope          TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    created_by     TEXT    NOT NULL,
    transition_id  INTEGER REFERENCES alert_transitions (id),
    resumed_at     INTEGER,
    resumed_by     TEXT,
    resume_reason  TEXT,
    mta_state      TEXT    CHECK (mta_state IN ('suspending', 'suspended', 'resuming', 'resumed', 'failed')),
    mta_ids        TEXT    NOT NULL DEFAULT '[]',
    mta_attempts   INTEGER NOT NULL DEFAULT 0,
    mta_next_at    INTEGER,
    mta_error      TEXT
);
CREATE UNIQUE INDEX pauses_active ON pauses (scope) WHERE resumed_at IS NULL;
CREATE INDEX pauses_mta_due ON pauses (mta_next_at) WHERE mta_next_at IS NOT NULL;
