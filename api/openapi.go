package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// The OpenAPI document is assembled from plain maps by small builders: one
// function per group of routes (openapi_paths.go) returns its paths, each
// operation built by op, and the schemas live in openapi_schemas.go. To
// document a new group of routes, write a function returning its paths and
// add it to pathGroups; op gives every operation its tag and the problem
// answers every route shares. TestOpenAPIMatchesRoutes fails for a route
// missing from the document, and the API tests validate every request and
// answer against it.

// obj is a JSON object of the OpenAPI document.
type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func param(name, in, desc string, schema obj, required bool) obj {
	return obj{"name": name, "in": in, "description": desc, "required": required, "schema": schema}
}

// object is an object schema whose required members are always sent (or,
// in a request, must be); the others may be absent.
func object(required []string, props obj) obj {
	o := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// request is an object schema of a request body: unknown members are
// refused, as the API's strict decoder does.
func request(required []string, props obj) obj {
	o := object(required, props)
	o["additionalProperties"] = false
	return o
}

func arrayOf(items obj) obj { return obj{"type": "array", "items": items} }

func described(desc string, schema obj) obj {
	out := obj{"description": desc}
	for k, v := range schema {
		out[k] = v
	}
	return out
}

var (
	strSchema  = obj{"type": "string"}
	boolSchema = obj{"type": "boolean"}
	intSchema  = obj{"type": "integer"}
	idSchema   = obj{"type": "string", "minLength": 1, "maxLength": MaxIDLength}
	nameSchema = obj{"type": "string", "minLength": 1, "maxLength": MaxNameLength}
	timeSchema = obj{"type": "string", "format": "date-time"}
	posSchema  = obj{"type": "integer", "format": "int64", "minimum": 0}
	anyJSON    = obj{"description": "any JSON value"}
)

// Tags group the operations.
const (
	tagWorkflows = "workflows"
	tagRuns      = "runs"
	tagEvents    = "events"
	tagLive      = "live"
	tagEntities  = "entities"
	tagConsumers = "consumers"
	tagSchedules = "schedules"
	tagServer    = "server"
	tagViews     = "views"
	tagTimers    = "timers"
)

var tagDocs = []obj{
	{"name": tagWorkflows, "description": "Registered workflows and their declared signals and queries."},
	{"name": tagRuns, "description": "Workflow runs: start, inspect, signal, query, and operate on them."},
	{"name": tagEvents, "description": "The event log."},
	{"name": tagLive, "description": "Server-Sent Events streams of runs and of the log; each event's data is described by the schema the response names in x-sse-events."},
	{"name": tagEntities, "description": "Event-sourced entities: state, events, commands and erasure."},
	{"name": tagConsumers, "description": "Consumers and projections: lag, checkpoints, pause, parked events."},
	{"name": tagSchedules, "description": "Periodic processes and cron schedules: pause, resume, trigger."},
	{"name": tagServer, "description": "The server itself: this document, health and metrics."},
	{"name": tagViews, "description": "Views: named queries over projections' tables, answered as JSON or as live streams."},
	{"name": tagTimers, "description": "Named timers: commands to entities and workflow starts at a time."},
}

func jsonBody(schema obj) obj {
	return obj{"required": true, "content": obj{"application/json": obj{"schema": schema}}}
}

// optionalBody is a JSON body that may be left out (the request still
// needs the JSON content type).
func optionalBody(schema obj) obj {
	return obj{"required": false, "content": obj{"application/json": obj{"schema": schema}}}
}

func okJSON(desc string, schema obj) obj {
	return obj{"description": desc, "content": obj{"application/json": obj{"schema": schema}}}
}

// sseResp is a text/event-stream answer. The stream is not one JSON
// document, so its schema is a string; x-sse-events maps each event name
// to the schema of its data (what OpenAPI 3.2 calls the itemSchema of a
// sequential media type, which 3.1 tools do not read).
func sseResp(desc string, events obj) obj {
	names := slices.Sorted(maps.Keys(events))
	return obj{"description": desc, "content": obj{"text/event-stream": obj{
		"schema":       obj{"type": "string", "description": fmt.Sprintf("A stream of Server-Sent Events named %s; each one's data is one line of JSON (see x-sse-events), its id the log position.", strings.Join(names, ", "))},
		"x-sse-events": events,
	}}}
}

func problemResp() obj { return obj{"$ref": "#/components/responses/Problem"} }

// Statuses every operation of /api may answer: a Host the server does not
// serve (421), a failure of the server (500) or of its store (503), and
// any other problem (default).
var sharedProblems = []string{"421", "500", "503"}

// Statuses a request that changes something may be refused with: bad
// input (400), no or the wrong token (401), a cross-origin browser request
// (403), a body too slow (408) or too large (413), a content type other
// than JSON (415).
var mutating = []string{"400", "401", "403", "408", "413", "415"}

// op is an API operation of the group tag: its problem answers are errs,
// sharedProblems and a default problem; ok holds its other answers.
func op(tag, id, summary string, params []obj, body obj, ok map[string]obj, errs ...string) obj {
	resp := obj{"default": problemResp()}
	for _, s := range append(errs, sharedProblems...) {
		resp[s] = problemResp()
	}
	for k, v := range ok {
		resp[k] = v
	}
	o := obj{"tags": []string{tag}, "operationId": id, "summary": summary, "responses": resp}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if body != nil {
		o["requestBody"] = body
	}
	return o
}

// with returns errs followed by more, without changing errs.
func with(errs []string, more ...string) []string {
	return append(append([]string(nil), errs...), more...)
}

// pathGroups lists the builders of the document's paths, one per group of
// routes.
func pathGroups() []func() obj {
	return []func() obj{workflowPaths, runPaths, runOpPaths, exportPaths, buildPaths, queuePaths, eventPaths, livePaths, entityPaths, consumerPaths, schedulePaths, viewPaths, timerPaths, serverPaths, insightPaths}
}

// openAPIDoc builds the OpenAPI 3.1 document of the API. It panics when
// two groups document the same path (a programming mistake, caught by the
// API's tests).
func openAPIDoc() obj {
	paths := obj{}
	for _, group := range pathGroups() {
		for p, item := range group() {
			if _, dup := paths[p]; dup {
				panic("api: OpenAPI path " + p + " documented twice")
			}
			paths[p] = item
		}
	}
	return obj{
		"openapi": "3.1.0",
		"info": obj{"title": "weft HTTP API", "version": "1",
			"description": "Runs, journals, signals, cancellation, queries, the event log, entities, consumers and schedules of a weft engine. Errors are application/problem+json (RFC 9457); every operation documents the statuses it answers with a problem, and a default problem for any other. See docs/api.md."},
		"servers": []obj{{"url": "/", "description": "The server that serves this document (weft dev, or an app's serve command); the API is under /api."}},
		"tags":    tagDocs,
		"paths":   paths,
		"components": obj{
			"schemas":         schemas(),
			"responses":       obj{"Problem": obj{"description": "A problem (RFC 9457).", "content": obj{"application/problem+json": obj{"schema": ref("Problem")}}}},
			"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer", "description": "Once a token is configured, required for every route, from any address; /healthz then tells a caller without it only the status. Without a token, only loopback clients are served."}},
		},
		"security": []obj{{"bearer": []string{}}},
	}
}

var openAPIJSON = sync.OnceValue(func() []byte {
	b, err := json.MarshalIndent(openAPIDoc(), "", "  ")
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	return b
})

// OpenAPI returns the OpenAPI 3.1 document of the API, as JSON.
func OpenAPI() []byte { return openAPIJSON() }

// OpenAPIHandler serves the OpenAPI document.
func OpenAPIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(OpenAPI())
	})
}
