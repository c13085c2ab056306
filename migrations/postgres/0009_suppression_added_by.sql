-- Who put an entry on the list (or reopened it): the staff user, the API key (`key:ID:NAME`) or
-- the command line, as the audit log names them. The change feed names them as the actor of an
-- `added`, `reopened` or `escalated` row; where it is NULL (entries from before this column, and
-- imports, whose source `import:N` names the job) the feed names the entry's source as before.
ALTER TABLE suppressions ADD COLUMN added_by TEXT;

CREATE OR REPLACE FUNCTION rebound_suppression_change() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    kind TEXT;
BEGIN
    IF NOT NEW.active AND OLD.active THEN
        kind := 'lifted';
    ELSIF NEW.active AND NOT OLD.active THEN
        kind := 'reopened';
    ELSIF NEW.active AND OLD.reason <> NEW.reason THEN
        kind := 'escalated';
    ELSE
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(7365021);
    INSERT INTO suppression_changes (suppression_id, change, reason, actor, at, expires_at)
    VALUES (NEW.id, kind, NEW.reason,
            CASE WHEN kind = 'lifted' THEN COALESCE(NEW.lifted_by, NEW.source)
                 ELSE COALESCE(NEW.added_by, NEW.source) END,
            NEW.updated_at, NEW.expires_at);
    RETURN NULL;
END;
$$;
