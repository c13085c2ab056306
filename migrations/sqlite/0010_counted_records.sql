-- Log records that were counted as attempts without an event of their own (KumoMTA's Reception
-- records), by key: a batch the log hook sends again counts none of them twice. Kept for a few
-- days (the monitor deletes older ones): long enough for any retry of a batch.
CREATE TABLE counted_records (
    key        TEXT    PRIMARY KEY,
    counted_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX counted_records_at ON counted_records (counted_at);
