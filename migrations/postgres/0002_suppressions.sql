-- The suppression service: API keys, events, the suppression list, the audit log and settings.
-- Times are Unix seconds. Suppressions and audit rows are never deleted (triggers refuse it).

CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT      NOT NULL,
    prefix       TEXT      NOT NULL,
    token_digest BYTEA     NOT NULL UNIQUE,
    scopes       TEXT      NOT NULL,
    created_by   TEXT      NOT NULL,
    created_at   BIGINT    NOT NULL,
    revoked_at   BIGINT
);

CREATE TABLE suppressions (
    id          BIGSERIAL PRIMARY KEY,
    key         TEXT      NOT NULL COLLATE "C",
    address     TEXT      NOT NULL,
    domain      TEXT      NOT NULL COLLATE "C",
    domain_wide BOOLEAN   NOT NULL,
    scope       TEXT      NOT NULL,
    reason      TEXT      NOT NULL CHECK (reason IN ('hard_bounce', 'soft_bounce_exhausted', 'complaint',
                                                     'unsubscribe', 'spam_trap', 'manual', 'invalid')),
    source      TEXT      NOT NULL,
    rule        TEXT,
    note        TEXT,
    active      BOOLEAN   NOT NULL,
    created_at  BIGINT    NOT NULL,
    updated_at  BIGINT    NOT NULL,
    expires_at  BIGINT,
    lifted_at   BIGINT,
    lifted_by   TEXT,
    lift_reason TEXT
);
-- One index serves lookups by (scope, key), prefix search and its (key, scope) order.
CREATE UNIQUE INDEX suppressions_key_scope ON suppressions (key, scope);
CREATE INDEX suppressions_domain ON suppressions (domain, id);
CREATE INDEX suppressions_rule ON suppressions (rule) WHERE rule IS NOT NULL;
CREATE INDEX suppressions_reason ON suppressions (reason, id);

CREATE FUNCTION rebound_refuse() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END;
$$;
CREATE TRIGGER suppressions_never_deleted BEFORE DELETE ON suppressions
    FOR EACH ROW EXECUTE FUNCTION rebound_refuse('suppressions are never deleted: lift them');

CREATE TABLE events (
    id              BIGSERIAL PRIMARY KEY,
    at              BIGINT    NOT NULL,
    received_at     BIGINT    NOT NULL,
    source          TEXT      NOT NULL,
    input           TEXT      NOT NULL CHECK (input IN ('reply', 'message', 'event')),
    idempotency_key TEXT      UNIQUE,
    recipient       TEXT,
    recipient_key   TEXT,
    kind            TEXT      NOT NULL,
    reason          TEXT      NOT NULL,
    rule            TEXT      NOT NULL,
    campaign        TEXT,
    stream          TEXT,
    sending_ip      TEXT,
    isp             TEXT,
    raw             TEXT,
    verdict         TEXT      NOT NULL,
    outcome         TEXT      NOT NULL,
    suppression_id  BIGINT    REFERENCES suppressions (id)
);
CREATE INDEX events_recipient ON events (recipient_key, kind, at);
CREATE INDEX events_suppression ON events (suppression_id) WHERE suppression_id IS NOT NULL;
CREATE INDEX events_received ON events (received_at);

CREATE TABLE audit_log (
    id        BIGSERIAL PRIMARY KEY,
    at        BIGINT    NOT NULL,
    actor     TEXT      NOT NULL,
    action    TEXT      NOT NULL,
    target    TEXT      NOT NULL,
    before    TEXT,
    after     TEXT,
    reason    TEXT,
    prev_hash BYTEA     NOT NULL,
    hash      BYTEA     NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION rebound_refuse('the audit log is append-only');
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION rebound_refuse('the audit log is append-only');

CREATE TABLE settings (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
