-- Bulk imports: one row per job, updated in the same transaction as each batch it commits, so its
-- progress never runs ahead of what is on disk.
CREATE TABLE import_jobs (
    id             BIGSERIAL PRIMARY KEY,
    format         TEXT    NOT NULL CHECK (format IN ('text', 'csv')),
    scope          TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    created_by     TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('waiting', 'running', 'done', 'failed')),
    bytes_total    BIGINT,
    bytes_read     BIGINT  NOT NULL DEFAULT 0,
    lines          BIGINT  NOT NULL DEFAULT 0,
    created        BIGINT  NOT NULL DEFAULT 0,
    reopened       BIGINT  NOT NULL DEFAULT 0,
    unchanged      BIGINT  NOT NULL DEFAULT 0,
    rejected       BIGINT  NOT NULL DEFAULT 0,
    rejected_lines TEXT    NOT NULL DEFAULT '[]',
    error          TEXT
);
