-- The change feed (`GET /api/v1/suppressions/changes`): every change to the list, numbered in
-- commit order, so another system can follow the list, written in the transaction that makes the
-- change. An entry is `added`, `reopened` (a lifted entry in force again), `escalated` (an entry in
-- force took a stronger reason: a complaint) or `lifted`; the actor is the entry's source (or who
-- lifted it). An entry's address and scope never change, so the feed reads them from the entry.
-- Entries in force when the feed was created start it as `added`.
CREATE TABLE suppression_changes (
    sequence       INTEGER PRIMARY KEY,
    suppression_id INTEGER NOT NULL,
    change         TEXT    NOT NULL CHECK (change IN ('added', 'reopened', 'escalated', 'lifted')),
    reason         TEXT    NOT NULL,
    actor          TEXT    NOT NULL,
    at             INTEGER NOT NULL,
    expires_at     INTEGER
);

INSERT INTO suppression_changes (suppression_id, change, reason, actor, at, expires_at)
    SELECT id, 'added', reason, source, updated_at, expires_at
    FROM suppressions WHERE active = 1 ORDER BY id;

-- A new entry gets its `added` row from the store, in bulk, in the transaction that created it (a
-- trigger per row would cost a million-row import a third of its time); a change to
-- an existing entry gets its row from this trigger. SQLite serialises writers and rows here are
-- never deleted, so each new rowid is the largest yet plus one: the rowid order is the commit order.
CREATE TRIGGER suppression_changes_updated AFTER UPDATE OF active, reason ON suppressions
    WHEN OLD.active <> NEW.active OR (NEW.active = 1 AND OLD.reason <> NEW.reason)
BEGIN
    INSERT INTO suppression_changes (suppression_id, change, reason, actor, at, expires_at)
    VALUES (
        NEW.id,
        CASE WHEN NEW.active = 0 THEN 'lifted' WHEN OLD.active = 0 THEN 'reopened' ELSE 'escalated' END,
        NEW.reason,
        CASE WHEN NEW.active = 0 THEN COALESCE(NEW.lifted_by, NEW.source) ELSE NEW.source END,
        NEW.updated_at, NEW.expires_at
    );
END;
