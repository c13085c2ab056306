-- How far `rebound ingest ... --follow` has read each followed log: the file (device and inode, so
-- that a rotated file is told from its successor) and the byte position after the last line whose
-- records are stored. A restarted follower goes on from there.
CREATE TABLE ingest_offsets (
    source     TEXT    PRIMARY KEY,
    file_id    TEXT    NOT NULL,
    position   INTEGER  NOT NULL,
    updated_at INTEGER  NOT NULL
);
