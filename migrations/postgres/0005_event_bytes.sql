-- An event's input (an SMTP reply or a whole bounce email) is kept as the bytes received: a NUL or
-- an 8-bit part that is not UTF-8 is part of what the remote system said, and PostgreSQL's TEXT
-- cannot hold a NUL at all.
ALTER TABLE events ALTER COLUMN raw TYPE BYTEA USING convert_to(raw, 'UTF8');

-- The SHA-256 of the item an idempotency key was first sent with, so that the same key with a
-- different payload is refused instead of being taken for a repeat (NULL for events stored before).
ALTER TABLE events ADD COLUMN payload_digest BYTEA;

-- A mail server called the failure permanent (a 5xx reply or a reported 5.x.x status): an
-- unexplained one (kind `unknown`) counts toward the soft-bounce escalation when the policy says so.
ALTER TABLE events ADD COLUMN permanent BOOLEAN NOT NULL DEFAULT FALSE;
