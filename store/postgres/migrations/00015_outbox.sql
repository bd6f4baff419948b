-- weft schema, version 15, for PostgreSQL: the outbox. The same tables as
-- the SQLite store's 00015_outbox.sql; an identity never reuses an ID.

-- +goose Up
CREATE TABLE outbox (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    publisher  TEXT   NOT NULL,
    topic      TEXT   NOT NULL,
    msg_key    TEXT   NOT NULL,
    data       BYTEA  NOT NULL,
    headers    TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_publisher ON outbox (publisher, id);

CREATE TABLE outbox_leases (
    publisher TEXT   PRIMARY KEY,
    owner     TEXT   NOT NULL,
    token     BIGINT NOT NULL,
    expires   BIGINT NOT NULL
);

-- +goose Down
DROP TABLE outbox_leases;
DROP TABLE outbox;
