-- weft schema, version 2, for PostgreSQL: consumers and their checkpoints,
-- parked events, and the command IDs that make entity commands idempotent.
-- The same tables and columns as the SQLite store's 00002_consumers.sql.

-- +goose Up
CREATE TABLE consumers (
    name        TEXT   PRIMARY KEY,
    settings    BYTEA  NOT NULL,
    position    BIGINT NOT NULL DEFAULT 0,
    stop_error  TEXT   NOT NULL DEFAULT '',
    lease_token BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE parked_events (
    consumer  TEXT    NOT NULL,
    position  BIGINT  NOT NULL,
    stream    TEXT    NOT NULL,
    type      TEXT    NOT NULL,
    error     TEXT    NOT NULL,
    attempts  INTEGER NOT NULL,
    parked_at BIGINT  NOT NULL,
    PRIMARY KEY (consumer, position)
);

CREATE TABLE stream_commands (
    stream     TEXT   NOT NULL,
    command_id TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    PRIMARY KEY (stream, command_id)
);

-- +goose Down
DROP TABLE stream_commands;
DROP TABLE parked_events;
DROP TABLE consumers;
