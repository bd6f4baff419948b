-- weft schema, version 7, for PostgreSQL: the parked history of retried and
-- skipped parked events, and stream_commands.first_version. The same tables
-- and columns as the SQLite store's 00007_parked_history.sql.

-- +goose Up
CREATE TABLE parked_history (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer    TEXT    NOT NULL,
    position    BIGINT  NOT NULL,
    stream      TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    error       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    parked_at   BIGINT  NOT NULL,
    outcome     TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    resolved_at BIGINT  NOT NULL
);
CREATE INDEX parked_history_consumer ON parked_history (consumer, id);

ALTER TABLE stream_commands ADD COLUMN first_version BIGINT;

-- +goose Down
ALTER TABLE stream_commands DROP COLUMN first_version;
DROP TABLE parked_history;
