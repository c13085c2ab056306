-- An import whose process stopped (a crash, a kill, a lost replica) or whose upload broke off is
-- `interrupted`: its committed batches are kept, and uploading the same file again resumes it after
-- the last committed line. SQLite cannot change a CHECK constraint in place: the table is rebuilt.
CREATE TABLE import_jobs_new (
    id             INTEGER PRIMARY KEY,
    format         TEXT    NOT NULL CHECK (format IN ('text', 'csv')),
    scope          TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    created_by     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('waiting', 'running', 'done', 'failed', 'interrupted')),
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
INSERT INTO import_jobs_new SELECT * FROM import_jobs;
DROP TABLE import_jobs;
ALTER TABLE import_jobs_new RENAME TO import_jobs;
