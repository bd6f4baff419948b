-- weft schema, version 4, for PostgreSQL: consumer partitions. The same
-- tables and columns as the SQLite store's 00004_partitions.sql, which says
-- what they hold.

-- +goose Up
ALTER TABLE events ADD COLUMN stream_hash BIGINT;

CREATE TABLE consumer_partitions (
    name          TEXT    NOT NULL,
    part          INTEGER NOT NULL,
    position      BIGINT NOT NULL DEFAULT 0,
    stop_error    TEXT    NOT NULL DEFAULT '',
    lease_owner   TEXT    NOT NULL DEFAULT '',
    lease_token   BIGINT NOT NULL DEFAULT 0,
    lease_expires BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (name, part)
);

INSERT INTO consumer_partitions (name, part, position, stop_error, lease_owner, lease_token, lease_expires, updated_at)
SELECT name, 0, position, stop_error, lease_owner, lease_token, lease_expires, updated_at FROM consumers;

ALTER TABLE consumers ADD COLUMN partitions INTEGER NOT NULL DEFAULT 1;
ALTER TABLE consumers DROP COLUMN position;
ALTER TABLE consumers DROP COLUMN stop_error;
ALTER TABLE consumers DROP COLUMN lease_token;
ALTER TABLE consumers DROP COLUMN lease_owner;
ALTER TABLE consumers DROP COLUMN lease_expires;

CREATE TABLE consumer_members (
    name    TEXT    NOT NULL,
    owner   TEXT    NOT NULL,
    expires BIGINT NOT NULL,
    PRIMARY KEY (name, owner)
);

-- +goose Down
DROP TABLE consumer_members;
ALTER TABLE consumers ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
ALTER TABLE consumers ADD COLUMN stop_error TEXT NOT NULL DEFAULT '';
ALTER TABLE consumers ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE consumers ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE consumers ADD COLUMN lease_expires BIGINT NOT NULL DEFAULT 0;
UPDATE consumers SET
    position = (SELECT MIN(position) FROM consumer_partitions p WHERE p.name = consumers.name),
    lease_token = (SELECT MAX(lease_token) + 1 FROM consumer_partitions p WHERE p.name = consumers.name);
ALTER TABLE consumers DROP COLUMN partitions;
DROP TABLE consumer_partitions;
ALTER TABLE events DROP COLUMN stream_hash;
