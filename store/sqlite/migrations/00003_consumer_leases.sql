-- weft schema, version 3: consumer leases. A consumer runs on one worker at
-- a time: lease_owner holds it until lease_expires (Unix nanoseconds);
-- lease_token (version 2) grows with every new holder and fences the
-- checkpoint commits of a stale one.

-- +goose Up
ALTER TABLE consumers ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE consumers ADD COLUMN lease_expires INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE consumers DROP COLUMN lease_expires;
ALTER TABLE consumers DROP COLUMN lease_owner;
