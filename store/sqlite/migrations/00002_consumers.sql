-- weft schema, version 2: consumers and their checkpoints, parked events,
-- and the command IDs that make entity commands idempotent.

-- +goose Up
CREATE TABLE consumers (
    name        TEXT    PRIMARY KEY,
    settings    BLOB    NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    stop_error  TEXT    NOT NULL DEFAULT '',
    lease_token INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE parked_events (
    consumer  TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    stream    TEXT    NOT NULL,
    type      TEXT    NOT NULL,
    error     TEXT    NOT NULL,
    attempts  INTEGER NOT NULL,
    parked_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, position)
) WITHOUT ROWID;

CREATE TABLE stream_commands (
    stream     TEXT    NOT NULL,
    command_id TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (stream, command_id)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE stream_commands;
DROP TABLE parked_events;
DROP TABLE consumers;
