-- weft schema, version 18: trace context of events. events.trace_context
-- is the trace context of the code that appended the event (Engine.Append,
-- an entity command, a key-value write; a W3C traceparent, or what the
-- engine's weft.TracePropagator wrote), so that each consumer's and
-- projection's handling of the event continues the appender's trace, in
-- any process. Empty when the appender had none, and for events older
-- than this version.

-- +goose Up
ALTER TABLE events ADD COLUMN trace_context TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE events DROP COLUMN trace_context;
