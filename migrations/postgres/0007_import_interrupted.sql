-- An import whose process stopped (a crash, a kill, a lost replica) or whose upload broke off is
-- `interrupted`: its committed batches are kept, and uploading the same file again resumes it after
-- the last committed line.
ALTER TABLE import_jobs DROP CONSTRAINT import_jobs_state_check;
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_state_check
    CHECK (state IN ('waiting', 'running', 'done', 'failed', 'interrupted'));
