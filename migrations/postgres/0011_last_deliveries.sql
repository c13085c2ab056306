-- The last delivery to each recipient that an MTA's log reported. A delivery read from a log is
-- counted in the monitoring buckets and marks its recipient here instead of being stored as an
-- event of its own: at an MTA's volume most records are deliveries, and the policy needs only
-- the last one (it starts a recipient's soft-bounce count again).
CREATE TABLE last_deliveries (
    recipient_key TEXT   PRIMARY KEY,
    at            BIGINT NOT NULL
);
