-- An event's input (an SMTP reply or a whole bounce email) is kept as the bytes received: new rows
-- store it as a BLOB (a TEXT column holds one as is), so a NUL or an 8-bit part that is not UTF-8
-- survives; rows stored before keep their TEXT value, which reads back the same.

-- The SHA-256 of the item an idempotency key was first sent with, so that the same key with a
-- different payload is refused instead of being taken for a repeat (NULL for events stored before).
ALTER TABLE events ADD COLUMN payload_digest BLOB;

-- A mail server called the failure permanent (a 5xx reply or a reported 5.x.x status): an
-- unexplained one (kind `unknown`) counts toward the soft-bounce escalation when the policy says so.
ALTER TABLE events ADD COLUMN permanent BOOLEAN NOT NULL DEFAULT FALSE;
