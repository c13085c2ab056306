-- Monitoring: counters the dashboards and alerts read (never the events themselves), alert states
-- and their transitions, outbound webhooks with their delivery log, and pauses.

-- Counters per 5-minute bucket: overall (`all`, name ''), per mailbox provider (`isp`), per
-- campaign and per stream, added to in the same transaction as the events they count.
CREATE TABLE metric_buckets (
    dimension      TEXT    NOT NULL CHECK (dimension IN ('all', 'isp', 'campaign', 'stream')),
    bucket         BIGINT  NOT NULL,
    name           TEXT    NOT NULL,
    sent           BIGINT  NOT NULL DEFAULT 0,
    delivered      BIGINT  NOT NULL DEFAULT 0,
    hard           BIGINT  NOT NULL DEFAULT 0,
    soft           BIGINT  NOT NULL DEFAULT 0,
    blocked        BIGINT  NOT NULL DEFAULT 0,
    complaint      BIGINT  NOT NULL DEFAULT 0,
    unsubscribe    BIGINT  NOT NULL DEFAULT 0,
    soft_started   BIGINT  NOT NULL DEFAULT 0,
    soft_recovered BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (dimension, bucket, name)
);

-- Entries added and lifted per UTC day and reason: the growth of the list.
CREATE TABLE suppression_daily (
    day    BIGINT  NOT NULL,
    reason TEXT    NOT NULL,
    added  BIGINT  NOT NULL DEFAULT 0,
    lifted BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, reason)
);

CREATE TABLE alert_states (
    metric     TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    level      TEXT    NOT NULL CHECK (level IN ('ok', 'warning', 'critical', 'resolved')),
    value      DOUBLE PRECISION    NOT NULL,
    volume     BIGINT  NOT NULL,
    since      BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (metric, scope)
);

CREATE TABLE alert_transitions (
    id         BIGSERIAL PRIMARY KEY,
    at         BIGINT  NOT NULL,
    metric     TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    from_level TEXT    NOT NULL,
    to_level   TEXT    NOT NULL,
    value      DOUBLE PRECISION    NOT NULL,
    volume     BIGINT  NOT NULL,
    threshold  DOUBLE PRECISION    NOT NULL,
    pause_id   BIGINT
);

CREATE TABLE webhooks (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    url        TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    format     TEXT    NOT NULL CHECK (format IN ('json', 'slack')),
    enabled    BOOLEAN NOT NULL,
    created_at BIGINT  NOT NULL,
    created_by TEXT    NOT NULL
);

-- The outbox: a notification is written with the change that caused it, then delivered (and
-- retried with back-off) by a worker; each row is its delivery log.
CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    webhook_id      BIGINT  NOT NULL REFERENCES webhooks (id),
    created_at      BIGINT  NOT NULL,
    event           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);

-- Paused scopes (`all`, `isp:NAME`, `campaign:NAME`); at most one active pause per scope. The
-- `mta_*` columns track the KumoMTA suspension that mirrors it.
CREATE TABLE pauses (
    id             BIGSERIAL PRIMARY KEY,
    scope          TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    created_by     TEXT    NOT NULL,
    transition_id  BIGINT  REFERENCES alert_transitions (id),
    resumed_at     BIGINT,
    resumed_by     TEXT,
    resume_reason  TEXT,
    mta_state      TEXT    CHECK (mta_state IN ('suspending', 'suspended', 'resuming', 'resumed', 'failed')),
    mta_ids        TEXT    NOT NULL DEFAULT '[]',
    mta_attempts   BIGINT  NOT NULL DEFAULT 0,
    mta_next_at    BIGINT,
    mta_error      TEXT
);
CREATE UNIQUE INDEX pauses_active ON pauses (scope) WHERE resumed_at IS NULL;
CREATE INDEX pauses_mta_due ON pauses (mta_next_at) WHERE mta_next_at IS NOT NULL;
