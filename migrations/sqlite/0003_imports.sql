-- Bulk imports: one row per job, updated in the same transaction as each batch it commits, so its
-- progress never runs ahead of what is on disk.
CREATE TABLE import_jobs (
    id             INTEGER PRIMARY KEY,
    format         TEXT    NOT NULL CHECK (format IN ('text', 'csv')),
    scope          TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    created_by     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('waiting', 'running', 'done', 'failed')),
    bytes_total    INTEGER,
    bytes_read     INTEGER NOT NULL DEFAULT 0,
    lines          INTEGER NOT NULL DEFAULT 0,
    created        INTEGER NOT NULL DEFAULT 0,
    reopened       INTEGER NOT NULL DEFAULT 0,
    unchanged      INTEGER NOT NULL DEFAULT 0,
    rejected       INTEGER NOT NULL DEFAULT 0,
    rejected_lines TEXT    NOT NULL DEFAULT '[]',
    error          TEXT
);
