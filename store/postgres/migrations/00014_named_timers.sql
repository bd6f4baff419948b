-- weft schema, version 14, for PostgreSQL: named timers. The same table as
-- the SQLite store's 00014_named_timers.sql.

-- +goose Up
CREATE TABLE named_timers (
    name        TEXT    PRIMARY KEY,
    id          TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    payload     BYTEA   NOT NULL,
    due_at      BIGINT,
    created_at  BIGINT  NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX named_timers_due ON named_timers (due_at) WHERE due_at IS NOT NULL;

-- +goose Down
DROP TABLE named_timers;
