-- weft schema, version 7: the parked history keeps every parked event that
-- was retried or skipped, with its error and the operator's reason, so that
-- nothing a consumer gave up on disappears without a trace; and
-- stream_commands.first_version remembers the first version an idempotent
-- append wrote, so that a duplicate of the command can be answered with the
-- events the one application appended (NULL for commands recorded before).

-- +goose Up
CREATE TABLE parked_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer    TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    stream      TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    error       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    parked_at   INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    resolved_at INTEGER NOT NULL
);
CREATE INDEX parked_history_consumer ON parked_history (consumer, id);

ALTER TABLE stream_commands ADD COLUMN first_version INTEGER;

-- +goose Down
ALTER TABLE stream_commands DROP COLUMN first_version;
DROP TABLE parked_history;
