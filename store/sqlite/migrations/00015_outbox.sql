-- weft schema, version 15: the outbox. Messages to publish to other
-- systems are written in the transaction of the events or the step they
-- come from, and deleted once their publisher delivered them; one owner at
-- a time dispatches a publisher's messages, under the lease in
-- outbox_leases. AUTOINCREMENT: an ID is never reused, as brokers
-- deduplicate by it.

-- +goose Up
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    publisher  TEXT    NOT NULL,
    topic      TEXT    NOT NULL,
    msg_key    TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    headers    TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX outbox_publisher ON outbox (publisher, id);

CREATE TABLE outbox_leases (
    publisher TEXT    PRIMARY KEY,
    owner     TEXT    NOT NULL,
    token     INTEGER NOT NULL,
    expires   INTEGER NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE outbox_leases;
DROP TABLE outbox;
