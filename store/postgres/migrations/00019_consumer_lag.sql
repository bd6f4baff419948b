-- weft schema, version 19: consumers' lag over time. The worker holding a
-- consumer's first partition samples its checkpoint, the log's head and
-- its lag about once a minute; samples older than the retention (a day by
-- default) are deleted as new ones come. Times are unix nanoseconds.

-- +goose Up
CREATE TABLE consumer_lag (
	consumer TEXT NOT NULL,
	at       BIGINT NOT NULL,
	position BIGINT NOT NULL,
	head     BIGINT NOT NULL,
	lag      BIGINT NOT NULL,
	PRIMARY KEY (consumer, at)
);

-- +goose Down
DROP TABLE consumer_lag;
