-- The suppression service: API keys, events, the suppression list, the audit log and settings.
-- Times are Unix seconds. Suppressions and audit rows are never deleted (triggers refuse it).

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    token_digest BLOB    NOT NULL UNIQUE,
    scopes       TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);

CREATE TABLE suppressions (
    id          INTEGER PRIMARY KEY,
    key         TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    domain      TEXT    NOT NULL,
    domain_wide INTEGER NOT NULL CHECK (domain_wide IN (0, 1)),
    scope       TEXT    NOT NULL,
    reason      TEXT    NOT NULL CHECK (reason IN ('hard_bounce', 'soft_bounce_exhausted', 'complaint',
                                                   'unsubscribe', 'spam_trap', 'manual', 'invalid')),
    source      TEXT    NOT NULL,
    rule        TEXT,
    note        TEXT,
    active      INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    lifted_at   INTEGER,
    lifted_by   TEXT,
    lift_reason TEXT
);
-- One index serves lookups by (scope, key), prefix search and its (key, scope) order.
CREATE UNIQUE INDEX suppressions_key_scope ON suppressions (key, scope);
CREATE INDEX suppressions_domain ON suppressions (domain, id);
CREATE INDEX suppressions_rule ON suppressions (rule) WHERE rule IS NOT NULL;
CREATE INDEX suppressions_reason ON suppressions (reason, id);
CREATE TRIGGER suppressions_never_deleted BEFORE DELETE ON suppressions
BEGIN
    SELECT RAISE(ABORT, 'suppressions are never deleted: lift them');
END;

CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    source          TEXT    NOT NULL,
    input           TEXT      NOT NULL CHECK (input IN ('reply', 'message', 'event')),
    idempotency_key TEXT    UNIQUE,
    recipient       TEXT,
    recipient_key   TEXT,
    kind            TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    rule            TEXT    NOT NULL,
    campaign        TEXT,
    stream          TEXT,
    sending_ip      TEXT,
    isp             TEXT,
    raw             TEXT,
    verdict         TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,
    suppression_id  INTEGER REFERENCES suppressions (id)
);
CREATE INDEX events_recipient ON events (recipient_key, kind, at);
CREATE INDEX events_suppression ON events (suppression_id) WHERE suppression_id IS NOT NULL;
CREATE INDEX events_received ON events (received_at);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    before    TEXT,
    after     TEXT,
    reason    TEXT,
    prev_hash BLOB    NOT NULL,
    hash      BLOB    NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TABLE settings (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
