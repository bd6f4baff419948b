-- weft schema, version 3, for PostgreSQL: consumer leases. The same columns
-- as the SQLite store's 00003_consumer_leases.sql.

-- +goose Up
ALTER TABLE consumers ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE consumers ADD COLUMN lease_expires BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE consumers DROP COLUMN lease_expires;
ALTER TABLE consumers DROP COLUMN lease_owner;
