-- Staff accounts and browser sessions. Times are Unix seconds.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT      NOT NULL,
    password_hash TEXT      NOT NULL,
    role          TEXT      NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    disabled      BOOLEAN   NOT NULL DEFAULT FALSE,
    created_at    BIGINT    NOT NULL
);
CREATE UNIQUE INDEX users_username_ci ON users (lower(username));

-- A session is found by the SHA-256 digest of its cookie token; the token itself is never stored.
CREATE TABLE sessions (
    token_digest BYTEA  PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
