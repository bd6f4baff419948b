package api

// The schemas of the OpenAPI document. A member the server always sends is
// required, so that generated clients need no pointer for it; a member
// that may be absent is sent only when it has a value.

func optStr(desc string) obj { return obj{"type": "string", "description": desc} }

func schemas() obj {
	s := obj{}
	for _, group := range []func() obj{workflowSchemas, runSchemas, runOpSchemas, buildSchemas, queueSchemas, eventSchemas, entitySchemas, consumerSchemas, scheduleSchemas, viewTimerSchemas, serverSchemas, insightSchemas} {
		for name, schema := range group() {
			if _, dup := s[name]; dup {
				panic("api: OpenAPI schema " + name + " defined twice")
			}
			s[name] = schema
		}
	}
	return s
}

func workflowSchemas() obj {
	return obj{
		"WorkflowList": object([]string{"workflows", "definitions"}, obj{
			"workflows": arrayOf(strSchema), "definitions": arrayOf(ref("WorkflowInfo"))}),
		"WorkflowInfo": object([]string{"name", "signals", "queries", "updates", "input", "result"}, obj{"name": strSchema,
			"signals": described("Declared signals, with the type of their payload.", arrayOf(ref("Declaration"))),
			"updates": described("Declared updates, with the types of their input and result.", arrayOf(ref("UpdateDeclaration"))),
			"queries": described("Declared queries, with the type of their result.", arrayOf(ref("Declaration"))),
			"input":   described("The workflow's input type (named \"input\").", ref("Declaration")),
			"result":  described("The workflow's result type (named \"result\").", ref("Declaration"))}),
		"UpdateDeclaration": object([]string{"name", "input", "result"}, obj{"name": strSchema,
			"input": ref("Declaration"), "result": ref("Declaration")}),
		"Declaration": object([]string{"name", "type", "schema"}, obj{"name": strSchema, "type": ref("TypeInfo"), "schema": ref("JSONSchema")}),
		"JSONSchema": obj{"type": "object", "description": "A JSON Schema (draft 2020-12) of the Go type's JSON values, derived from the type by reflection: " +
			"struct fields in order as properties (required unless omitempty or omitzero), time.Time as a date-time string, []byte as base64, " +
			"pointers, slices and maps nullable, recursive types in $defs; x-go-type names each Go type. Forms are built from it.",
			"properties": obj{"type": obj{"oneOf": []obj{strSchema, arrayOf(strSchema)}}, "properties": obj{"type": "object"},
				"required": arrayOf(strSchema), "items": obj{"type": "object"}, "x-go-type": strSchema}},
		"TypeInfo": described("A Go type as its JSON encoding looks.", object([]string{"go", "kind"}, obj{
			"go":       optStr("The Go type, as package.Name."),
			"kind":     obj{"type": "string", "enum": []string{"object", "array", "string", "integer", "number", "boolean", "any"}},
			"format":   obj{"type": "string", "enum": []string{"date-time", "base64"}},
			"nullable": boolSchema,
			"fields":   described("The JSON fields of a struct.", arrayOf(ref("FieldInfo"))),
			"elem":     obj{"$ref": "#/components/schemas/TypeInfo", "description": "The element of an array, the value of a map."}})),
		"FieldInfo": object([]string{"name", "type"}, obj{
			"name": strSchema, "type": ref("TypeInfo"), "optional": described("Tagged omitempty or omitzero.", boolSchema)}),
	}
}

func runSchemas() obj {
	return obj{
		"RunStatus": obj{"type": "string", "enum": []string{"pending", "running", "waiting", "completed", "failed", "cancelled", "terminated", "suspended", "blocked"}},
		"Run": object([]string{"id", "workflow", "status", "version", "created_at", "updated_at"}, obj{
			"id": strSchema, "workflow": strSchema, "parent": strSchema, "status": ref("RunStatus"),
			"input": anyJSON, "result": anyJSON, "error": ref("RunError"), "wake_at": timeSchema,
			"cancel_requested": boolSchema, "version": posSchema, "lease_owner": strSchema, "lease_expires": timeSchema,
			"created_at": timeSchema, "updated_at": timeSchema, "waiting": ref("Waiting"), "divergence": ref("Divergence"),
			"journal_entries": obj{"type": "integer", "description": "GET /api/runs/{id} only: the entries of the run's current journal segment."},
			"long_history":    obj{"type": "boolean", "description": "GET /api/runs/{id} only: journal_entries is past the engine's threshold (weft.Config.LongHistory); continue the run as new."},
			"reset_from":      optStr("The run this one was reset from."), "reset_to": optStr("The run this one was reset into."),
			"build":           optStr("The build the run executes on."),
			"ended_at":        obj{"type": "string", "format": "date-time", "description": "When an ended run ended (completed, failed, cancelled, terminated)."},
			"queue":           optStr("The queue the run waits in or was admitted through (weft.OnQueue)."),
			"priority":        obj{"type": "integer", "description": "The run's priority in its queue."},
			"concurrency_key": optStr("The run's concurrency key in its queue."),
			"admitted_at":     timeSchema,
			"queued":          obj{"type": "boolean", "description": "The run waits in its queue: not admitted yet."},
		}),
		"Divergence": obj{"type": "object", "description": "Why a blocked run is blocked: at position (of journal segment segment) the journal recorded expected, the code asked for actual.",
			"properties": obj{"run_id": strSchema, "workflow": strSchema, "segment": intSchema, "position": intSchema,
				"recorded": strSchema, "new": strSchema, "source": optStr("file:line of the code's call"),
				"expected": ref("DivergenceStep"), "actual": ref("DivergenceStep")}},
		"DivergenceStep": obj{"type": "object", "properties": obj{"kind": strSchema, "name": strSchema, "source": optStr("file:line"), "entry": ref("JournalEntry")}},
		"JournalSegments": object([]string{"run_id", "segments"}, obj{"run_id": strSchema, "segments": arrayOf(obj{"type": "object", "properties": obj{
			"segment": intSchema, "from_version": posSchema, "to_version": posSchema, "entries": intSchema,
			"started_at": timeSchema, "ended_at": timeSchema}})}),
		"RunError": object([]string{"message"}, obj{"type": optStr("Stable error type name."), "message": strSchema}),
		"Waiting": object([]string{"type"}, obj{"type": optStr("The journal entry the run waits at."), "name": strSchema, "source": optStr("file:line"),
			"file": strSchema, "line": intSchema, "until": timeSchema}),
		"RunCounts": object([]string{"counts", "total"}, obj{
			"counts": obj{"type": "object", "description": "Runs per status; a status without runs is absent.", "additionalProperties": intSchema},
			"total":  intSchema}),
		"RunList": object([]string{"runs", "head_position"}, obj{
			"runs": arrayOf(ref("Run")), "next_cursor": strSchema, "head_position": posSchema}),
		"JournalEntry": object([]string{"position", "version", "type", "time", "seq"}, obj{
			"position": posSchema, "version": posSchema, "type": strSchema, "time": timeSchema, "seq": intSchema,
			"name": strSchema, "source": optStr("file:line of the call, the file as module path and path inside the module"), "file": strSchema, "line": intSchema,
			"attempt": intSchema, "result": anyJSON, "error": strSchema, "error_type": strSchema,
			"until": timeSchema, "child": strSchema, "update": optStr("The update ID of an UpdateAccepted or UpdateCompleted entry."), "duration_ns": obj{"type": "integer", "format": "int64"},
			"started": obj{"type": "string", "format": "date-time", "description": "When a step attempt started (absent in older journals)."},
			"reason":  optStr("Why an operator's operation was done."), "actor": optStr("Who did it (the name of the API token)."),
			"run": optStr("The other run of a reset."),
		}),
		"Journal": object([]string{"run_id", "entries"}, obj{"run_id": strSchema, "entries": arrayOf(ref("JournalEntry"))}),
		"Source":  object([]string{"file", "name", "lines"}, obj{"file": strSchema, "name": strSchema, "lines": arrayOf(strSchema)}),
		"StartRequest": request([]string{"workflow", "id"}, obj{"workflow": nameSchema, "id": idSchema, "input": anyJSON,
			"priority":        obj{"type": "integer", "description": "The run's priority in its workflow's queue (higher first)."},
			"concurrency_key": optStr("The run's concurrency key in its workflow's queue."),
			"start_at":        timeSchema,
			"start_after_ms":  obj{"type": "integer", "format": "int64", "description": "Start this long after now on the engine's clock."},
			"dedup":           ref("StartKey"), "debounce": ref("StartKey")}),
		"StartKey":       request([]string{"key", "window_ms"}, obj{"key": strSchema, "window_ms": obj{"type": "integer", "format": "int64", "minimum": 1}}),
		"SignalRequest":  request([]string{"name"}, obj{"name": nameSchema, "payload": anyJSON}),
		"SignalResponse": object([]string{"run_id", "name"}, obj{"run_id": strSchema, "name": strSchema}),
		"UpdateRequest": request(nil, obj{"input": anyJSON,
			"update_id": described("The update's idempotency key within the run; the server picks a random one when absent.", idSchema)}),
		"UpdateResponse": object([]string{"run_id", "name", "update_id", "result"}, obj{"run_id": strSchema, "name": strSchema, "update_id": strSchema, "result": anyJSON}),
		"QueryResponse":  object([]string{"run_id", "name", "result"}, obj{"run_id": strSchema, "name": strSchema, "result": anyJSON}),
	}
}

func eventSchemas() obj {
	return obj{
		"Event": object([]string{"position", "stream", "version", "type", "time"}, obj{"position": posSchema, "stream": strSchema, "version": posSchema, "type": strSchema,
			"data": anyJSON, "tags": arrayOf(strSchema), "time": timeSchema}),
		"EventList": object([]string{"events", "next_after"}, obj{"events": arrayOf(ref("Event")), "next_after": posSchema}),
	}
}

func entitySchemas() obj {
	return obj{
		"EntityTypes": object([]string{"entity_types"}, obj{"entity_types": arrayOf(strSchema)}),
		"EntityState": object([]string{"type", "id", "stream", "version", "state"}, obj{
			"type": strSchema, "id": strSchema, "stream": strSchema, "version": posSchema, "state": anyJSON}),
		"EntityEvents": object([]string{"type", "id", "stream", "events"}, obj{"type": strSchema, "id": strSchema, "stream": strSchema,
			"events": arrayOf(ref("Event"))}),
		"CommandRequest": request([]string{"command"}, obj{
			"command":    obj{"description": "The command as JSON; {\"type\": name, \"data\": …} when the entity's command type is an interface."},
			"command_id": obj{"type": "string", "maxLength": MaxIDLength, "description": "Idempotency key: a command ID the entity applied already appends nothing."}}),
	}
}

func consumerSchemas() obj {
	parked := obj{"consumer": strSchema, "position": posSchema, "stream": strSchema, "type": strSchema, "error": strSchema, "attempts": intSchema, "parked_at": timeSchema}
	parkedReq := []string{"consumer", "position", "stream", "type", "error", "attempts", "parked_at"}
	resolved := obj{"outcome": obj{"type": "string", "enum": []string{"retried", "skipped"}}, "reason": strSchema, "resolved_at": timeSchema}
	for k, v := range parked {
		resolved[k] = v
	}
	return obj{
		"Consumer": object([]string{"name", "kind", "position", "head", "lag", "oldest_unprocessed_age_ms", "parked", "partitions", "paused"}, obj{
			"name": strSchema, "kind": obj{"type": "string", "enum": []string{"consumer", "projection"}},
			"position": posSchema, "head": posSchema, "lag": posSchema, "oldest_unprocessed_age_ms": obj{"type": "integer", "format": "int64"},
			"parked": intSchema, "stop_error": strSchema, "partitions": arrayOf(ref("ConsumerPartition")),
			"paused": described("Paused by an operator: it handles no event until resumed.", boolSchema), "paused_at": timeSchema,
			"tables": described("A projection's view tables with their row counts (weft.ProjectionDef.Tables), for a projection registered on this server.", arrayOf(ref("ViewTable")))}),
		"ConsumerPartition": object([]string{"partition", "position"}, obj{"partition": intSchema, "position": posSchema,
			"owner": optStr("The worker running the partition; absent when none holds it."), "stop_error": strSchema}),
		"ConsumerList":        object([]string{"consumers"}, obj{"consumers": arrayOf(ref("Consumer"))}),
		"ResetRequest":        request([]string{"position"}, obj{"position": posSchema}),
		"ParkedEvent":         object(parkedReq, parked),
		"ResolvedParkedEvent": object(append(parkedReq, "outcome", "resolved_at"), resolved),
		"ParkedList": object([]string{"parked"}, obj{"consumer": strSchema, "parked": arrayOf(ref("ParkedEvent")),
			"history": described("With history=1: parked events retried or skipped, oldest resolution first.", arrayOf(ref("ResolvedParkedEvent")))}),
		"SkipRequest":   request([]string{"reason"}, obj{"reason": obj{"type": "string", "minLength": 1, "maxLength": MaxReasonLength}}),
		"SkipResponse":  object([]string{"consumer", "position", "skipped"}, obj{"consumer": strSchema, "position": posSchema, "skipped": boolSchema}),
		"RetryResponse": object([]string{"consumer", "position", "retried"}, obj{"consumer": strSchema, "position": posSchema, "retried": boolSchema}),
	}
}

func scheduleSchemas() obj {
	return obj{
		"Schedule": object([]string{"name", "paused", "missed"}, obj{
			"name": strSchema, "workflow": optStr("The workflow each tick starts; absent for a Func schedule."),
			"interval": optStr("An Interval schedule's interval, as a Go duration."),
			"cron":     optStr("A Cron schedule's expression."),
			"paused":   boolSchema, "paused_at": timeSchema, "next_at": timeSchema, "last_at": timeSchema,
			"missed":  described("Ticks that fell while it was paused.", intSchema),
			"started": described("The runs a resume started for missed ticks, or the run a trigger started.", arrayOf(strSchema))}),
		"ScheduleList":          object([]string{"schedules"}, obj{"schedules": arrayOf(ref("Schedule"))}),
		"ScheduleResumeRequest": request(nil, obj{"reason": reasonSchema, "catch_up": described("Start the runs of the ticks missed while paused (true) or skip them (false); absent: the schedule's missed-tick policy.", boolSchema)}),
	}
}

var reasonSchema = obj{"type": "string", "maxLength": MaxReasonLength, "description": "Why; recorded with the operation (in a run's journal, with a pause, in an erased entity's tombstone)."}

func serverSchemas() obj {
	return obj{
		"ClockAdvanceRequest": request(nil, obj{"by": obj{"type": "string", "description": "A Go duration such as \"720h\"; exactly one of by and to."}, "to": timeSchema}),
		"Whoami": object([]string{"name", "role"}, obj{"name": optStr("The token's name; \"local\" on a server without tokens."),
			"role": obj{"type": "string", "enum": []string{RoleAdmin, RoleRead}}}),
		"ClockResponse": object([]string{"now"}, obj{"now": timeSchema}),
		"Health":        object([]string{"status"}, obj{"status": obj{"type": "string", "enum": []string{"ok", "unavailable"}}, "head_position": posSchema, "error": strSchema}),
		"Problem": object([]string{"type", "title", "status"}, obj{
			"type": optStr("Stable URI of the problem type, " + ProblemBase + "…"), "title": strSchema, "status": intSchema,
			"detail": strSchema, "instance": strSchema, "run_id": strSchema, "field": optStr("The invalid parameter or field."),
			"run_status": optStr("The status of the run an operation did not apply to.")}),
	}
}
