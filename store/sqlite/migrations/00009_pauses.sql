-- weft schema, version 9: the consumers and schedules an operator paused,
-- with when, why and by whom, so that a pause holds on every worker and
-- across restarts.

-- +goose Up
CREATE TABLE pauses (
    kind      TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    paused_at INTEGER NOT NULL,
    reason    TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    PRIMARY KEY (kind, name)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE pauses;
