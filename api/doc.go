// Package api is weft's HTTP API: JSON under /api/ over a weft.Engine, with
// an OpenAPI 3 document, live updates as Server-Sent Events, and errors as
// RFC 9457 problem details. NewServer adds /openapi.json, /metrics, /healthz
// and the web UI (package ui) in one http.Handler, and ListenAndServe serves
// it with a graceful shutdown:
//
//	srv, err := api.NewServer(eng, api.ServerOptions{
//		Addr:    "127.0.0.1:8080",
//		Options: api.Options{Token: os.Getenv("WEFT_TOKEN")},
//	})
//	if err != nil { … } // a non-loopback Addr without a token is refused
//	err = srv.ListenAndServe(ctx) // until ctx ends
//
// # Routes
//
//	GET  /api/workflows                 registered workflows, with their declared signals and queries
//	GET  /api/runs                      runs, newest first: ?workflow= ?status= ?created_after= ?created_before= ?cursor= ?limit=
//	POST /api/runs                      start a run: {"workflow", "id", "input"} (idempotent by ID)
//	GET  /api/runs/{id}                 a run, with where it waits
//	GET  /api/runs/{id}/journal         its journal (?segment=N: an older segment), each entry with its source file:line
//	GET  /api/runs/{id}/journals        the segments of its journal (a run that continued as new has several)
//	GET  /api/runs/{id}/source?file=    a .go file named by the journal (from Options.SourceRoots or SourceFS)
//	POST /api/runs/{id}/signals         send a signal: {"name", "payload"} (checked against a declared type)
//	POST /api/runs/{id}/updates/{name} send an update: {"input", "update_id"}; answers the handler's result
//	POST /api/runs/{id}/cancel          cancel the run and its children
//	GET  /api/runs/{id}/queries/{name}  ask the run's query handler
//	GET  /api/events                    the log from a position: ?after= ?type= ?tag= ?stream_prefix= ?limit=
//	GET  /api/live/runs                 SSE: "run" events as runs change (?run= for one run)
//	GET  /api/live/events               SSE: "event" events as the log grows, resumable by Last-Event-ID
//	GET  /api/entities                  registered entity types
//	GET  /api/entities/{type}/{id}      an entity's state and version
//	GET  /api/entities/{type}/{id}/events     its events, oldest first
//	POST /api/entities/{type}/{id}/commands   send a command: {"command", "command_id"}
//	GET  /api/consumers                 consumers and projections with their lag
//	POST /api/consumers/{name}/reset    move a checkpoint: {"position"}
//	GET  /api/consumers/{name}/parked   a consumer's parked events (GET /api/parked: all; ?history=1 adds those retried or skipped)
//	POST /api/consumers/{name}/parked/{position}/retry   handle a parked event again
//	POST /api/consumers/{name}/parked/{position}/skip    give up on a parked event, {"reason": …}
//	POST /api/consumers/{name}/pause    pause a consumer (POST …/resume: resume it)
//	GET  /api/schedules                 periodic processes and cron schedules
//	POST /api/schedules/{name}/pause    pause a schedule (…/resume {"catch_up"}, …/trigger)
//	POST /api/entities/{type}/{id}/erase      erase an entity's data, leaving a tombstone
//	GET  /api/views                     views with their queries and parameters
//	GET  /api/views/{view}/{query}      a view query's rows (?PARAM=…); SSE "rows" events with Accept: text/event-stream
//	GET  /api/timers                    named timers (?prefix=); GET/PUT/DELETE /api/timers/{name}: one, set, cancel
//
// A run ID or an entity ID is one path segment: escape it (a child run's ID
// holds "/"), as RunPath and EntityPath do.
//
// # Authentication
//
// With Options.Token set, every request needs "Authorization: Bearer
// <token>", from any address. With no token, the API answers only on
// loopback, read-only unless Options.AllowOpen (what `weft dev` uses; it
// logs a warning). NewServer refuses a non-loopback address without a
// token.
//
// # Defences
//
// Every POST needs Content-Type: application/json, and a browser request
// from another origin that changes something is refused (403) unless
// Options.AllowedOrigins has its origin. Only known Host names are served
// (421 otherwise): loopback addresses, "localhost", the address a request
// arrived on and Options.AllowedHosts. Bodies are bounded in size and time,
// live streams and (with Server.Serve) connections in number, and bodies
// are decoded strictly. docs/security.md explains each.
//
// # Errors
//
// Every error is a Problem sent as application/problem+json, whose Type is
// one of the stable Problem… URIs: run-not-found (404), run-finished (409),
// unknown-workflow (422), entity-type-not-found (404), command-rejected
// (422, the entity's error message as the detail), consumer-not-found (404),
// parked-event-not-found (404), retry-failed (422), invalid-input and
// malformed-json (400),
// payload-too-large (413), unauthorized (401), cross-origin (403),
// request-timeout (408), unsupported-media-type (415), unknown-host (421),
// too-many-streams (429, 503), too-many-connections (503), not-found (404)
// and method-not-allowed (405) for unknown routes. A rejected request
// changes nothing.
//
// The API assumes the engine's codec is JSON (the default): inputs, results
// and payloads are passed and returned as JSON values.
package api
