package api

import (
	"encoding/json"
	"net/http"
	"sync"
)

// obj is a JSON object of the OpenAPI document.
type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func param(name, in, desc string, schema obj, required bool) obj {
	return obj{"name": name, "in": in, "description": desc, "required": required, "schema": schema}
}

var (
	strSchema  = obj{"type": "string"}
	idSchema   = obj{"type": "string", "minLength": 1, "maxLength": MaxIDLength}
	nameSchema = obj{"type": "string", "minLength": 1, "maxLength": MaxNameLength}
	timeSchema = obj{"type": "string", "format": "date-time"}
	posSchema  = obj{"type": "integer", "format": "int64", "minimum": 0}
	anyJSON    = obj{"description": "any JSON value"}

	pID        = param("id", "path", "The run ID, path-escaped (a child run's ID contains \"/\", sent as %2F).", idSchema, true)
	pLimit     = param("limit", "query", "Page size.", obj{"type": "integer", "minimum": 1, "maximum": MaxLimit, "default": DefaultLimit}, false)
	pWorkflow  = param("workflow", "query", "Only runs of this workflow.", nameSchema, false)
	pStatus    = param("status", "query", "Only runs with these statuses: repeated or comma-separated.", obj{"type": "array", "items": ref("RunStatus")}, false)
	pAfterT    = param("created_after", "query", "Only runs created after this time (RFC 3339).", timeSchema, false)
	pBeforeT   = param("created_before", "query", "Only runs created before this time (RFC 3339).", timeSchema, false)
	pAfter     = param("after", "query", "Only events after this log position.", posSchema, false)
	pType      = param("type", "query", "Only events of these types (repeatable).", obj{"type": "array", "items": strSchema}, false)
	pTag       = param("tag", "query", "Only events carrying one of these tags (repeatable).", obj{"type": "array", "items": strSchema}, false)
	pPrefix    = param("stream_prefix", "query", "Only events of streams starting with this prefix (\"run:\" for the journals).", strSchema, false)
	pEntType   = param("type", "path", "The entity type, as registered (weft.EntityDef.Name).", nameSchema, true)
	pEntID     = param("id", "path", "The entity ID, path-escaped; its stream is \"<type>:<id>\".", idSchema, true)
	pConsumer  = param("name", "path", "The consumer or projection name.", nameSchema, true)
	pHistory   = param("history", "query", "1 to add the parked history: the events retried or skipped, with the outcome and reason.", obj{"type": "boolean"}, false)
	pParkedPos = param("position", "path", "The parked event's log position.", posSchema, true)
	pLastID    = param("Last-Event-ID", "header", "Sent by a reconnecting EventSource: the position to resume after (overrides after).", posSchema, false)
)

func jsonBody(schema obj) obj {
	return obj{"required": true, "content": obj{"application/json": obj{"schema": schema}}}
}

func okJSON(desc string, schema obj) obj {
	return obj{"description": desc, "content": obj{"application/json": obj{"schema": schema}}}
}

func sseResp(desc string) obj {
	return obj{"description": desc, "content": obj{"text/event-stream": obj{"schema": obj{"type": "string"}}}}
}

// problems returns the problem responses of the given statuses.
func problems(statuses ...string) obj {
	out := obj{}
	for _, s := range statuses {
		out[s] = ref2resp("Problem")
	}
	return out
}

func ref2resp(name string) obj { return obj{"$ref": "#/components/responses/" + name} }

// op is an API operation; every one may be refused with 421 for a Host the
// server does not serve.
func op(id, summary string, params []obj, body obj, ok map[string]obj, errs ...string) obj {
	resp := problems(append(errs, "421")...)
	for k, v := range ok {
		resp[k] = v
	}
	o := obj{"operationId": id, "summary": summary, "responses": resp}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if body != nil {
		o["requestBody"] = body
	}
	return o
}

// openAPIDoc builds the OpenAPI 3.1 document of the API.
func openAPIDoc() obj {
	// Every POST can also be refused for its origin (403), a body too slow
	// (408) or too large (413), or a content type other than JSON (415).
	mutating := []string{"400", "401", "403", "408", "413", "415"}
	paths := obj{
		"/api/workflows": obj{"get": op("listWorkflows", "Registered workflows, with their declared signals and queries", nil, nil,
			map[string]obj{"200": okJSON("The names, sorted, and the definitions in the same order.", ref("WorkflowList"))}, "401")},
		"/api/runs": obj{
			"get": op("listRuns", "List runs, newest first", []obj{pWorkflow, pStatus, pAfterT, pBeforeT,
				param("cursor", "query", "next_cursor of the previous page.", idSchema, false), pLimit}, nil,
				map[string]obj{"200": okJSON("A page of runs.", ref("RunList"))}, "400", "401"),
			"post": op("startRun", "Start a run (idempotent by ID)", nil, jsonBody(ref("StartRequest")),
				map[string]obj{"201": okJSON("Started.", ref("Run")), "200": okJSON("A run with this ID and workflow existed; nothing changed.", ref("Run"))},
				append(mutating, "409", "422")...),
		},
		"/api/runs/{id}": obj{"get": op("getRun", "A run, with where it waits", []obj{pID}, nil,
			map[string]obj{"200": okJSON("The run.", ref("Run"))}, "400", "401", "404")},
		"/api/runs/{id}/journal": obj{"get": op("getJournal", "The journal of a run, with each entry's source file:line", []obj{pID,
			param("segment", "query", "The journal segment (see /journals); the current one when absent.", obj{"type": "integer", "minimum": 0}, false)}, nil,
			map[string]obj{"200": okJSON("The journal, or the segment asked for.", ref("Journal"))}, "400", "401", "404")},
		"/api/runs/{id}/journals": obj{"get": op("listJournals", "The segments of a run's journal (a run that continued as new has several)", []obj{pID}, nil,
			map[string]obj{"200": okJSON("The segments, oldest first; the last is the current one.", ref("JournalSegments"))}, "400", "401", "404")},
		"/api/runs/{id}/source": obj{"get": op("getSource", "A .go source file named by the run's journal", []obj{pID,
			param("file", "query", "The file as a journal entry's file names it: module path and path inside the module (example.com/shop/flows/booking.go), or an absolute path in older journals.", strSchema, true)}, nil,
			map[string]obj{"200": okJSON("The file's lines.", ref("Source"))}, "400", "401", "404")},
		"/api/runs/{id}/signals": obj{"post": op("signalRun", "Send a signal to a run", []obj{pID}, jsonBody(ref("SignalRequest")),
			map[string]obj{"202": okJSON("Stored; the run gets it when it awaits it. A payload that does not decode into the type the run's workflow declared for the signal is refused with 400 (field \"payload\") and not stored.", ref("SignalResponse"))}, append(mutating, "404", "409")...)},
		"/api/runs/{id}/queries/{name}": obj{"get": op("queryRun", "Ask a run's query handler (a replay, no write)", []obj{pID,
			param("name", "path", "The query name.", nameSchema, true)}, nil,
			map[string]obj{"200": okJSON("The handler's answer.", ref("QueryResponse"))}, "400", "401", "404", "422", "500")},
		"/api/events": obj{"get": op("listEvents", "Read the log from a position", []obj{pAfter, pType, pTag, pPrefix, pLimit}, nil,
			map[string]obj{"200": okJSON("A page of events.", ref("EventList"))}, "400", "401")},
		"/api/live/runs": obj{"get": op("liveRuns", "Server-Sent Events: \"run\" events (a Run) when runs change", []obj{
			param("run", "query", "Follow this run only: its record first, then each change.", idSchema, false),
			pWorkflow, pStatus, pAfterT, pBeforeT, pAfter, pLastID}, nil,
			map[string]obj{"200": sseResp("An endless stream of \"run\" events; an \"error\" event (a Problem) ends it.")}, "400", "401", "404", "429", "503")},
		"/api/live/events": obj{"get": op("liveEvents", "Server-Sent Events: \"event\" events (an Event) as the log grows", []obj{
			pAfter, pType, pTag, pPrefix, pLastID}, nil,
			map[string]obj{"200": sseResp("An endless stream of \"event\" events whose SSE id is the position.")}, "400", "401", "429", "503")},
		"/api/entities": obj{"get": op("listEntityTypes", "Registered entity types", nil, nil,
			map[string]obj{"200": okJSON("The names, sorted.", ref("EntityTypes"))}, "401")},
		"/api/entities/{type}/{id}": obj{"get": op("getEntity", "An entity's state and version (version 0: no events, the initial state)", []obj{pEntType, pEntID}, nil,
			map[string]obj{"200": okJSON("The state.", ref("EntityState"))}, "400", "401", "404")},
		"/api/entities/{type}/{id}/events": obj{"get": op("getEntityEvents", "An entity's events, oldest first", []obj{pEntType, pEntID}, nil,
			map[string]obj{"200": okJSON("The events.", ref("EntityEvents"))}, "400", "401", "404")},
		"/api/entities/{type}/{id}/commands": obj{"post": op("sendCommand", "Send a command to an entity", []obj{pEntType, pEntID}, jsonBody(ref("CommandRequest")),
			map[string]obj{"200": okJSON("Decided and appended (or nothing to append); the state after it.", ref("EntityState"))},
			append(mutating, "404", "409", "422")...)},
		"/api/consumers": obj{"get": op("listConsumers", "Consumers and projections with their lag", nil, nil,
			map[string]obj{"200": okJSON("Every consumer and projection in the store, by name.", ref("ConsumerList"))}, "401")},
		"/api/consumers/{name}/reset": obj{"post": op("resetConsumer", "Move a consumer's checkpoint (backwards or forwards) and clear its stop error", []obj{pConsumer}, jsonBody(ref("ResetRequest")),
			map[string]obj{"200": okJSON("The consumer after the reset.", ref("Consumer"))}, append(mutating, "404")...)},
		"/api/consumers/{name}/parked": obj{"get": op("listConsumerParked", "A consumer's parked events (and, with history=1, those retried or skipped)", []obj{pConsumer, pHistory}, nil,
			map[string]obj{"200": okJSON("Its parked events, by position.", ref("ParkedList"))}, "400", "401", "404")},
		"/api/consumers/{name}/parked/{position}/retry": obj{"post": op("retryParked", "Handle a parked event again now; on success it moves to the parked history", []obj{pConsumer, pParkedPos}, nil,
			map[string]obj{"200": okJSON("The handler succeeded.", ref("RetryResponse"))}, append(mutating, "404", "409", "422")...)},
		"/api/consumers/{name}/parked/{position}/skip": obj{"post": op("skipParked", "Give up on a parked event without handling it; it moves to the parked history with its error and the reason", []obj{pConsumer, pParkedPos}, jsonBody(ref("SkipRequest")),
			map[string]obj{"200": okJSON("The event is skipped.", ref("SkipResponse"))}, append(mutating, "404")...)},
		"/api/clock/advance": obj{"post": op("advanceClock", "Move the engine's manual clock forward (only with Options.Clock, as `weft dev --clock=manual` sets; 404 on the wall clock)", nil, jsonBody(ref("ClockAdvanceRequest")),
			map[string]obj{"200": okJSON("The clock's time after the move; runs whose timers fell due wake.", ref("ClockResponse"))}, append(mutating, "404")...)},
		"/api/parked": obj{"get": op("listParked", "Parked events of every consumer (and, with history=1, those retried or skipped)", []obj{pHistory}, nil,
			map[string]obj{"200": okJSON("Parked events, by consumer and position.", ref("ParkedList"))}, "400", "401")},
		"/openapi.json": obj{"get": obj{"operationId": "openAPI", "summary": "This document", "security": []obj{},
			"responses": obj{"200": okJSON("The OpenAPI document.", obj{"type": "object"})}}},
		"/healthz": obj{"get": obj{"operationId": "health", "summary": "The store's health (a cheap read with a timeout); without the token of a server that has one, the status only", "security": []obj{},
			"responses": obj{"200": okJSON("The store answers.", ref("Health")), "503": okJSON("The store does not answer.", ref("Health"))}}},
		"/metrics": obj{"get": obj{"operationId": "metrics", "summary": "Prometheus metrics (text exposition format)",
			"responses": obj{"200": obj{"description": "The metrics.", "content": obj{"text/plain": obj{"schema": strSchema}}}, "401": ref2resp("Problem")}}},
	}
	addOpsPaths(paths, mutating)
	optStr := func(desc string) obj { return obj{"type": "string", "description": desc} }
	schemas := obj{
		"WorkflowList": obj{"type": "object", "required": []string{"workflows", "definitions"}, "properties": obj{
			"workflows": obj{"type": "array", "items": strSchema}, "definitions": obj{"type": "array", "items": ref("WorkflowInfo")}}},
		"WorkflowInfo": obj{"type": "object", "required": []string{"name", "signals", "queries"}, "properties": obj{"name": strSchema,
			"signals": obj{"type": "array", "items": ref("Declaration"), "description": "Declared signals, with the type of their payload."},
			"queries": obj{"type": "array", "items": ref("Declaration"), "description": "Declared queries, with the type of their result."}}},
		"Declaration": obj{"type": "object", "required": []string{"name", "type"}, "properties": obj{"name": strSchema, "type": ref("TypeInfo")}},
		"TypeInfo": obj{"type": "object", "required": []string{"go", "kind"}, "description": "A Go type as its JSON encoding looks.", "properties": obj{
			"go":       optStr("The Go type, as package.Name."),
			"kind":     obj{"type": "string", "enum": []string{"object", "array", "string", "integer", "number", "boolean", "any"}},
			"format":   obj{"type": "string", "enum": []string{"date-time", "base64"}},
			"nullable": obj{"type": "boolean"},
			"fields":   obj{"type": "array", "items": ref("FieldInfo"), "description": "The JSON fields of a struct."},
			"elem":     obj{"$ref": "#/components/schemas/TypeInfo", "description": "The element of an array, the value of a map."}}},
		"FieldInfo": obj{"type": "object", "required": []string{"name", "type"}, "properties": obj{
			"name": strSchema, "type": ref("TypeInfo"), "optional": obj{"type": "boolean", "description": "Tagged omitempty or omitzero."}}},
		"RunStatus": obj{"type": "string", "enum": []string{"pending", "running", "waiting", "completed", "failed", "cancelled", "terminated", "suspended", "blocked"}},
		"Run": obj{"type": "object", "required": []string{"id", "workflow", "status", "version", "created_at", "updated_at"}, "properties": obj{
			"id": strSchema, "workflow": strSchema, "parent": strSchema, "status": ref("RunStatus"),
			"input": anyJSON, "result": anyJSON, "error": ref("RunError"), "wake_at": timeSchema,
			"cancel_requested": obj{"type": "boolean"}, "version": posSchema, "lease_owner": strSchema, "lease_expires": timeSchema,
			"created_at": timeSchema, "updated_at": timeSchema, "waiting": ref("Waiting"), "divergence": ref("Divergence"),
			"reset_from": optStr("The run this one was reset from."), "reset_to": optStr("The run this one was reset into."),
			"build": optStr("The build the run executes on (weft.Config.BuildID)."),
		}},
		"Divergence": obj{"type": "object", "description": "Why a blocked run is blocked: at position (of journal segment segment) the journal recorded expected, the code asked for actual.",
			"properties": obj{"run_id": strSchema, "workflow": strSchema, "segment": obj{"type": "integer"}, "position": obj{"type": "integer"},
				"recorded": strSchema, "new": strSchema, "source": optStr("file:line of the code's call"),
				"expected": ref("DivergenceStep"), "actual": ref("DivergenceStep")}},
		"DivergenceStep": obj{"type": "object", "properties": obj{"kind": strSchema, "name": strSchema, "source": optStr("file:line"), "entry": ref("JournalEntry")}},
		"JournalSegments": obj{"type": "object", "properties": obj{"run_id": strSchema, "segments": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
			"segment": obj{"type": "integer"}, "from_version": posSchema, "to_version": posSchema, "entries": obj{"type": "integer"},
			"started_at": timeSchema, "ended_at": timeSchema}}}}},
		"RunError": obj{"type": "object", "properties": obj{"type": optStr("Stable error type name."), "message": strSchema}},
		"Waiting": obj{"type": "object", "properties": obj{"type": strSchema, "name": strSchema, "source": optStr("file:line"),
			"file": strSchema, "line": obj{"type": "integer"}, "until": timeSchema}},
		"RunList": obj{"type": "object", "required": []string{"runs", "head_position"}, "properties": obj{
			"runs": obj{"type": "array", "items": ref("Run")}, "next_cursor": strSchema, "head_position": posSchema}},
		"JournalEntry": obj{"type": "object", "properties": obj{
			"position": posSchema, "version": posSchema, "type": strSchema, "time": timeSchema, "seq": obj{"type": "integer"},
			"name": strSchema, "source": optStr("file:line of the call, the file as module path and path inside the module"), "file": strSchema, "line": obj{"type": "integer"},
			"attempt": obj{"type": "integer"}, "result": anyJSON, "error": strSchema, "error_type": strSchema,
			"until": timeSchema, "child": strSchema, "duration_ns": obj{"type": "integer", "format": "int64"},
			"reason": strSchema, "actor": strSchema, "run": strSchema,
		}},
		"Journal": obj{"type": "object", "properties": obj{"run_id": strSchema, "entries": obj{"type": "array", "items": ref("JournalEntry")}}},
		"Source":  obj{"type": "object", "properties": obj{"file": strSchema, "name": strSchema, "lines": obj{"type": "array", "items": strSchema}}},
		"Event": obj{"type": "object", "properties": obj{"position": posSchema, "stream": strSchema, "version": posSchema, "type": strSchema,
			"data": anyJSON, "tags": obj{"type": "array", "items": strSchema}, "time": timeSchema}},
		"EventList":    obj{"type": "object", "properties": obj{"events": obj{"type": "array", "items": ref("Event")}, "next_after": posSchema}},
		"StartRequest": obj{"type": "object", "required": []string{"workflow", "id"}, "additionalProperties": false, "properties": obj{"workflow": nameSchema, "id": idSchema, "input": anyJSON}},
		"SignalRequest": obj{"type": "object", "required": []string{"name"}, "additionalProperties": false, "properties": obj{
			"name": nameSchema, "payload": anyJSON}},
		"SignalResponse": obj{"type": "object", "properties": obj{"run_id": strSchema, "name": strSchema}},
		"QueryResponse":  obj{"type": "object", "properties": obj{"run_id": strSchema, "name": strSchema, "result": anyJSON}},
		"EntityTypes":    obj{"type": "object", "properties": obj{"entity_types": obj{"type": "array", "items": strSchema}}},
		"EntityState": obj{"type": "object", "required": []string{"type", "id", "stream", "version", "state"}, "properties": obj{
			"type": strSchema, "id": strSchema, "stream": strSchema, "version": posSchema, "state": anyJSON}},
		"EntityEvents": obj{"type": "object", "properties": obj{"type": strSchema, "id": strSchema, "stream": strSchema,
			"events": obj{"type": "array", "items": ref("Event")}}},
		"CommandRequest": obj{"type": "object", "required": []string{"command"}, "additionalProperties": false, "properties": obj{
			"command":    obj{"description": "The command as JSON; {\"type\": name, \"data\": …} when the entity's command type is an interface."},
			"command_id": obj{"type": "string", "maxLength": MaxIDLength, "description": "Idempotency key: a command ID the entity applied already appends nothing."}}},
		"Consumer": obj{"type": "object", "properties": obj{"name": strSchema, "kind": obj{"type": "string", "enum": []string{"consumer", "projection"}},
			"position": posSchema, "head": posSchema, "lag": posSchema, "oldest_unprocessed_age_ms": obj{"type": "integer", "format": "int64"},
			"parked": obj{"type": "integer"}, "stop_error": strSchema, "partitions": obj{"type": "array", "items": ref("ConsumerPartition")}}},
		"ConsumerPartition": obj{"type": "object", "properties": obj{"partition": obj{"type": "integer"}, "position": posSchema,
			"owner": obj{"type": "string", "description": "The worker running the partition; absent when none holds it."}, "stop_error": strSchema}},
		"ConsumerList": obj{"type": "object", "properties": obj{"consumers": obj{"type": "array", "items": ref("Consumer")}}},
		"ClockAdvanceRequest": obj{"type": "object", "additionalProperties": false, "description": "Exactly one of by and to.", "properties": obj{
			"by": obj{"type": "string", "description": "A Go duration such as \"720h\"."}, "to": timeSchema}},
		"ClockResponse": obj{"type": "object", "properties": obj{"now": timeSchema}},
		"ResetRequest":  obj{"type": "object", "required": []string{"position"}, "additionalProperties": false, "properties": obj{"position": posSchema}},
		"ParkedEvent":   obj{"type": "object", "properties": obj{"consumer": strSchema, "position": posSchema, "stream": strSchema, "type": strSchema, "error": strSchema, "attempts": obj{"type": "integer"}, "parked_at": timeSchema}},
		"ParkedList": obj{"type": "object", "properties": obj{"consumer": strSchema, "parked": obj{"type": "array", "items": ref("ParkedEvent")},
			"history": obj{"type": "array", "items": ref("ResolvedParkedEvent"), "description": "With history=1: parked events retried or skipped, oldest resolution first."}}},
		"ResolvedParkedEvent": obj{"allOf": []obj{ref("ParkedEvent"), {"type": "object", "properties": obj{
			"outcome": obj{"type": "string", "enum": []string{"retried", "skipped"}}, "reason": strSchema, "resolved_at": timeSchema}}}},
		"SkipRequest":   obj{"type": "object", "required": []string{"reason"}, "additionalProperties": false, "properties": obj{"reason": obj{"type": "string", "minLength": 1, "maxLength": MaxReasonLength}}},
		"SkipResponse":  obj{"type": "object", "properties": obj{"consumer": strSchema, "position": posSchema, "skipped": obj{"type": "boolean"}}},
		"RetryResponse": obj{"type": "object", "properties": obj{"consumer": strSchema, "position": posSchema, "retried": obj{"type": "boolean"}}},
		"Health":        obj{"type": "object", "properties": obj{"status": obj{"type": "string", "enum": []string{"ok", "unavailable"}}, "head_position": posSchema, "error": strSchema}},
		"Problem": obj{"type": "object", "required": []string{"type", "title", "status"}, "properties": obj{
			"type": optStr("Stable URI of the problem type, " + ProblemBase + "…"), "title": strSchema, "status": obj{"type": "integer"},
			"detail": strSchema, "instance": strSchema, "run_id": strSchema, "field": optStr("The invalid parameter or field."),
			"run_status": optStr("The status of the run an operation did not apply to.")}},
	}
	addOpsSchemas(schemas)
	addBuildsOpenAPI(paths, schemas)
	return obj{
		"openapi": "3.1.0",
		"info": obj{"title": "weft HTTP API", "version": "1",
			"description": "Runs, journals, signals, cancellation, queries, the event log, entities and consumers of a weft engine. Errors are application/problem+json (RFC 9457). See docs/api.md."},
		"paths": paths,
		"components": obj{
			"schemas":         schemas,
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
