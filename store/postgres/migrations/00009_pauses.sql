-- weft schema, version 9, for PostgreSQL: the paused consumers and
-- schedules. The same table as the SQLite store's 00009_pauses.sql.

-- +goose Up
CREATE TABLE pauses (
    kind      TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    paused_at BIGINT  NOT NULL,
    reason    TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    PRIMARY KEY (kind, name)
);

-- +goose Down
DROP TABLE pauses;
