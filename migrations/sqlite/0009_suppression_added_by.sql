-- Who put an entry on the list (or reopened it): the staff user, the API key (`key:ID:NAME`) or
-- the command line, as the audit log names them. The change feed names them as the actor of an
-- `added`, `reopened` or `escalated` row; where it is NULL (entries from before this column, and
-- imports, whose source `import:N` names the job) the feed names the entry's source as before.
ALTER TABLE suppressions ADD COLUMN added_by TEXT;

DROP TRIGGER suppression_changes_updated;
CREATE TRIGGER suppression_changes_updated AFTER UPDATE OF active, reason ON suppressions
    WHEN OLD.active <> NEW.active OR (NEW.active = 1 AND OLD.reason <> NEW.reason)
BEGIN
    INSERT INTO suppression_changes (suppression_id, change, reason, actor, at, expires_at)
    VALUES (
        NEW.id,
        CASE WHEN NEW.active = 0 THEN 'lifted' WHEN OLD.active = 0 THEN 'reopened' ELSE 'escalated' END,
        NEW.reason,
        CASE WHEN NEW.active = 0 THEN COALESCE(NEW.lifted_by, NEW.source) ELSE COALESCE(NEW.added_by, NEW.source) END,
        NEW.updated_at, NEW.expires_at
    );
END;
