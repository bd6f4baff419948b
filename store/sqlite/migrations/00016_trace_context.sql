-- weft schema, version 16: trace context. runs.trace_context is the trace
-- context of the caller that started the run (a W3C traceparent, or what
-- the engine's weft.TracePropagator wrote), so that every execution of the
-- run, in any process and after any restart, continues that trace. Empty
-- when the caller had none, and for runs older than this version.

-- +goose Up
ALTER TABLE runs ADD COLUMN trace_context TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE runs DROP COLUMN trace_context;
