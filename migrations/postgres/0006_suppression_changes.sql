-- The change feed (`GET /api/v1/suppressions/changes`): every change to the list, numbered in
-- commit order across replicas, so another system can follow the list, written in the transaction
-- that makes the change. An entry is `added`, `reopened` (a lifted entry in force again),
-- `escalated` (an entry in force took a stronger reason: a complaint) or `lifted`; the actor is the
-- entry's source (or who lifted it). An entry's address and scope never change, so the feed reads
-- them from the entry. Entries in force when the feed was created start it as `added`.
CREATE TABLE suppression_changes (
    sequence       BIGSERIAL PRIMARY KEY,
    suppression_id BIGINT NOT NULL,
    change         TEXT   NOT NULL CHECK (change IN ('added', 'reopened', 'escalated', 'lifted')),
    reason         TEXT   NOT NULL,
    actor          TEXT   NOT NULL,
    at             BIGINT NOT NULL,
    expires_at     BIGINT
);

INSERT INTO suppression_changes (suppression_id, change, reason, actor, at, expires_at)
    SELECT id, 'added', reason, source, updated_at, expires_at
    FROM suppressions WHERE active ORDER BY id;

-- A new entry gets its `added` row from the store, in bulk, in the transaction that created it (a
-- trigger per row would cost a million-row import a third of its time); a change to
-- an existing entry gets its row from this trigger, deferred to the commit. Both take one lock
-- there, held to the end of the commit: sequence numbers are drawn in commit order, so a follower
-- that has read number N never later finds a smaller one committed by another replica.
CREATE FUNCTION rebound_suppression_change() RETURNS TRIGGER LANGUAGE plpgsql AS $$
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
            CASE WHEN kind = 'lifted' THEN COALESCE(NEW.lifted_by, NEW.source) ELSE NEW.source END,
            NEW.updated_at, NEW.expires_at);
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER suppression_changes_feed AFTER UPDATE OF active, reason ON suppressions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rebound_suppression_change();
