package api

// The paths of the OpenAPI document, one builder per group of routes (see
// pathGroups).

var (
	pID       = param("id", "path", "The run ID, path-escaped (a child run's ID contains \"/\", sent as %2F).", idSchema, true)
	pLimit    = param("limit", "query", "Page size.", obj{"type": "integer", "minimum": 1, "maximum": MaxLimit, "default": DefaultLimit}, false)
	pWorkflow = param("workflow", "query", "Only runs of this workflow.", nameSchema, false)
	pStatus   = param("status", "query", "Only runs with these statuses: repeated or comma-separated.", arrayOf(strSchema), false)
	pAfterT   = param("created_after", "query", "Only runs created after this time (RFC 3339).", timeSchema, false)
	pBeforeT  = param("created_before", "query", "Only runs created before this time (RFC 3339).", timeSchema, false)
	// runFilter are the filters of the runs list and its counts.
	runFilter = []obj{pWorkflow, pStatus, pAfterT, pBeforeT,
		param("started_after", "query", "created_after by the name the UI uses (a run starts when it is created); created_after wins when both are given.", timeSchema, false),
		param("started_before", "query", "created_before by the name the UI uses; created_before wins when both are given.", timeSchema, false),
		param("ended_after", "query", "Only ended runs (completed, failed, cancelled, terminated) that ended after this time.", timeSchema, false),
		param("ended_before", "query", "Only ended runs that ended before this time.", timeSchema, false),
		param("id_prefix", "query", "Only runs whose ID starts with this.", idSchema, false),
		param("exclude_prefix", "query", "Not the runs whose ID starts with this (repeatable): \"<schedule>@\" leaves out a schedule's runs.", arrayOf(idSchema), false),
		param("parent", "query", "Only the children of this run.", idSchema, false),
		param("input_contains", "query", "Only runs whose encoded input contains this text (case-sensitive).", nameSchema, false)}
	pAfter     = param("after", "query", "Only events after this log position.", posSchema, false)
	pType      = param("type", "query", "Only events of these types (repeatable).", arrayOf(strSchema), false)
	pTag       = param("tag", "query", "Only events carrying one of these tags (repeatable).", arrayOf(strSchema), false)
	pPrefix    = param("stream_prefix", "query", "Only events of streams starting with this prefix (\"run:\" for the journals).", strSchema, false)
	pEntType   = param("type", "path", "The entity type, as registered (weft.EntityDef.Name).", nameSchema, true)
	pEntID     = param("id", "path", "The entity ID, path-escaped; its stream is \"<type>:<id>\".", idSchema, true)
	pConsumer  = param("name", "path", "The consumer or projection name.", nameSchema, true)
	pSchedule  = param("name", "path", "The schedule's name (weft.ScheduleDef.Name).", nameSchema, true)
	pHistory   = param("history", "query", "1 to add the parked history: the events retried or skipped, with the outcome and reason.", boolSchema, false)
	pParkedPos = param("position", "path", "The parked event's log position.", posSchema, true)
	pLastID    = param("Last-Event-ID", "header", "Sent by a reconnecting EventSource: the position to resume after (overrides after).", posSchema, false)
)

// read are the problem statuses of a read of one thing by path: a bad
// parameter (400), no or the wrong token (401), nothing there (404).
var read = []string{"400", "401", "404"}

func workflowPaths() obj {
	return obj{
		"/api/workflows": obj{"get": op(tagWorkflows, "listWorkflows", "Registered workflows, with their declared signals and queries", nil, nil,
			map[string]obj{"200": okJSON("The names, sorted, and the definitions in the same order.", ref("WorkflowList"))}, "401")},
		"/api/workflows/{name}": obj{"get": op(tagWorkflows, "getWorkflow", "A registered workflow: the JSON Schemas of its input, result, signals and queries", []obj{
			param("name", "path", "The workflow's registered name.", nameSchema, true)}, nil,
			map[string]obj{"200": okJSON("The workflow.", ref("WorkflowInfo"))}, read...)},
	}
}

func runPaths() obj {
	return obj{
		"/api/runs": obj{
			"get": op(tagRuns, "listRuns", "List runs, newest first", append(runFilter,
				param("cursor", "query", "next_cursor of the previous page.", idSchema, false), pLimit), nil,
				map[string]obj{"200": okJSON("A page of runs.", ref("RunList"))}, "400", "401"),
			"post": op(tagRuns, "startRun", "Start a run (idempotent by ID)", nil, jsonBody(ref("StartRequest")),
				map[string]obj{"201": okJSON("Started.", ref("Run")), "200": okJSON("A run with this ID and workflow existed; nothing changed.", ref("Run"))},
				with(mutating, "409", "422")...),
		},
		"/api/run-counts": obj{"get": op(tagRuns, "countRuns", "How many runs the filter of GET /api/runs selects, per status", runFilter, nil,
			map[string]obj{"200": okJSON("The counts.", ref("RunCounts"))}, "400", "401")},
		"/api/runs/{id}": obj{
			"get": op(tagRuns, "getRun", "A run, with where it waits", []obj{pID}, nil,
				map[string]obj{"200": okJSON("The run.", ref("Run"))}, read...),
			"delete": op(tagRuns, "deleteRun", "Delete a run that has ended, with its journal (audited in the server's log)", []obj{pID}, nil,
				map[string]obj{"204": obj{"description": "Deleted."}}, with(mutating, "404", "409")...),
		},
		"/api/runs/{id}/journal": obj{"get": op(tagRuns, "getJournal", "The journal of a run, with each entry's source file:line", []obj{pID,
			param("segment", "query", "The journal segment (see /journals); the current one when absent.", obj{"type": "integer", "minimum": 0}, false)}, nil,
			map[string]obj{"200": okJSON("The journal, or the segment asked for.", ref("Journal"))}, read...)},
		"/api/runs/{id}/journals": obj{"get": op(tagRuns, "listJournals", "The segments of a run's journal (a run that continued as new has several)", []obj{pID}, nil,
			map[string]obj{"200": okJSON("The segments, oldest first; the last is the current one.", ref("JournalSegments"))}, read...)},
		"/api/runs/{id}/source": obj{"get": op(tagRuns, "getSource", "A .go source file named by the run's journal", []obj{pID,
			param("file", "query", "The file as a journal entry's file names it: module path and path inside the module (example.com/shop/flows/booking.go), or an absolute path in older journals.", strSchema, true)}, nil,
			map[string]obj{"200": okJSON("The file's lines.", ref("Source"))}, read...)},
		"/api/runs/{id}/signals": obj{"post": op(tagRuns, "signalRun", "Send a signal to a run", []obj{pID}, jsonBody(ref("SignalRequest")),
			map[string]obj{"202": okJSON("Stored; the run gets it when it awaits it. A payload that does not decode into the type the run's workflow declared for the signal is refused with 400 (field \"payload\") and not stored.", ref("SignalResponse"))}, with(mutating, "404", "409")...)},
		"/api/runs/{id}/updates/{name}": obj{"post": op(tagRuns, "updateRun", "Send an update to a run and wait for its handler's answer", []obj{pID,
			param("name", "path", "The update name.", nameSchema, true)}, jsonBody(ref("UpdateRequest")),
			map[string]obj{"200": okJSON("The handler's result. The update is stored before the answer is awaited: sent again with the same update_id, it is not handled again and gets the same answer. 422 update-rejected: the validator (or a missing handler) refused it, nothing journaled; 422 update-failed: the handler's error.", ref("UpdateResponse"))},
			with(mutating, "404", "409", "422")...)},
		"/api/runs/{id}/queries/{name}": obj{"get": op(tagRuns, "queryRun", "Ask a run's query handler (a replay, no write)", []obj{pID,
			param("name", "path", "The query name.", nameSchema, true)}, nil,
			map[string]obj{"200": okJSON("The handler's answer.", ref("QueryResponse"))}, with(read, "422")...)},
	}
}

func eventPaths() obj {
	return obj{
		"/api/events": obj{"get": op(tagEvents, "listEvents", "Read the log from a position", []obj{pAfter, pBefore, pType, pTag, pPrefix, pStream, pLimit}, nil,
			map[string]obj{"200": okJSON("A page of events.", ref("EventList"))}, "400", "401")},
	}
}

func livePaths() obj {
	return obj{
		"/api/live/runs": obj{"get": op(tagLive, "liveRuns", "Server-Sent Events: \"run\" events (a Run) when runs change", []obj{
			param("run", "query", "Follow this run only: its record first, then each change.", idSchema, false),
			pWorkflow, pStatus, pAfterT, pBeforeT, pAfter, pLastID}, nil,
			map[string]obj{"200": sseResp("An endless stream of \"run\" events; an \"error\" event (a Problem) ends it.", obj{"run": ref("Run"), "error": ref("Problem")})},
			"400", "401", "404", "429")},
		"/api/live/events": obj{"get": op(tagLive, "liveEvents", "Server-Sent Events: \"event\" events (an Event) as the log grows", []obj{
			pAfter, pBefore, pType, pTag, pPrefix, pStream, pLastID}, nil,
			map[string]obj{"200": sseResp("An endless stream of \"event\" events whose SSE id is the position; an \"error\" event (a Problem) ends it.", obj{"event": ref("Event"), "error": ref("Problem")})},
			"400", "401", "429")},
	}
}

func entityPaths() obj {
	return obj{
		"/api/entities": obj{"get": op(tagEntities, "listEntityTypes", "Registered entity types", nil, nil,
			map[string]obj{"200": okJSON("The names, sorted.", ref("EntityTypes"))}, "401")},
		"/api/entities/{type}/{id}": obj{"get": op(tagEntities, "getEntity", "An entity's state and version (version 0: no events, the initial state)", []obj{pEntType, pEntID}, nil,
			map[string]obj{"200": okJSON("The state.", ref("EntityState"))}, read...)},
		"/api/entities/{type}/{id}/events": obj{"get": op(tagEntities, "getEntityEvents", "An entity's events, oldest first", []obj{pEntType, pEntID}, nil,
			map[string]obj{"200": okJSON("The events.", ref("EntityEvents"))}, read...)},
		"/api/entities/{type}/{id}/commands": obj{"post": op(tagEntities, "sendCommand", "Send a command to an entity", []obj{pEntType, pEntID}, jsonBody(ref("CommandRequest")),
			map[string]obj{"200": okJSON("Decided and appended (or nothing to append); the state after it.", ref("EntityState"))},
			with(mutating, "404", "409", "422")...)},
		"/api/entities/{type}/{id}/erase": obj{"post": op(tagEntities, "eraseEntity", "Erase an entity's data (a data protection request): its events, snapshot and command IDs are replaced by one tombstone event of type weft.Erased; see docs/entities.md for projections", []obj{pEntType, pEntID}, optionalBody(ref("OpRequest")),
			map[string]obj{"200": okJSON("Erased (or nothing to erase); the state after it, the initial state at the tombstone's version.", ref("EntityState"))}, with(mutating, "404")...)},
	}
}

func consumerPaths() obj {
	return obj{
		"/api/consumers": obj{"get": op(tagConsumers, "listConsumers", "Consumers and projections with their lag", nil, nil,
			map[string]obj{"200": okJSON("Every consumer and projection in the store, by name.", ref("ConsumerList"))}, "401")},
		"/api/consumers/{name}/reset": obj{"post": op(tagConsumers, "resetConsumer", "Move a consumer's checkpoint (backwards or forwards) and clear its stop error", []obj{pConsumer}, jsonBody(ref("ResetRequest")),
			map[string]obj{"200": okJSON("The consumer after the reset.", ref("Consumer"))}, with(mutating, "404")...)},
		"/api/consumers/{name}/parked": obj{"get": op(tagConsumers, "listConsumerParked", "A consumer's parked events (and, with history=1, those retried or skipped)", []obj{pConsumer, pHistory}, nil,
			map[string]obj{"200": okJSON("Its parked events, by position.", ref("ParkedList"))}, read...)},
		"/api/consumers/{name}/parked/{position}/retry": obj{"post": op(tagConsumers, "retryParked", "Handle a parked event again now; on success it moves to the parked history", []obj{pConsumer, pParkedPos}, nil,
			map[string]obj{"200": okJSON("The handler succeeded.", ref("RetryResponse"))}, with(mutating, "404", "409", "422")...)},
		"/api/consumers/{name}/parked/{position}/skip": obj{"post": op(tagConsumers, "skipParked", "Give up on a parked event without handling it; it moves to the parked history with its error and the reason", []obj{pConsumer, pParkedPos}, jsonBody(ref("SkipRequest")),
			map[string]obj{"200": okJSON("The event is skipped.", ref("SkipResponse"))}, with(mutating, "404")...)},
		"/api/consumers/{name}/pause": obj{"post": op(tagConsumers, "pauseConsumer", "Pause a consumer or projection: it handles no event until it is resumed; its checkpoint holds and the events wait (on every worker, across restarts)", []obj{pConsumer}, optionalBody(ref("OpRequest")),
			map[string]obj{"200": okJSON("The consumer, paused.", ref("Consumer"))}, with(mutating, "404")...)},
		"/api/consumers/{name}/resume": obj{"post": op(tagConsumers, "resumeConsumer", "Resume a paused consumer: it goes on from its checkpoint", []obj{pConsumer}, optionalBody(ref("OpRequest")),
			map[string]obj{"200": okJSON("The consumer, resumed.", ref("Consumer"))}, with(mutating, "404")...)},
		"/api/parked": obj{"get": op(tagConsumers, "listParked", "Parked events of every consumer (and, with history=1, those retried or skipped)", []obj{pHistory}, nil,
			map[string]obj{"200": okJSON("Parked events, by consumer and position.", ref("ParkedList"))}, "400", "401")},
	}
}

func schedulePaths() obj {
	opBody := optionalBody(ref("OpRequest"))
	return obj{
		"/api/schedules": obj{"get": op(tagSchedules, "listSchedules", "The schedules registered on the server (weft.RegisterSchedule)", nil, nil,
			map[string]obj{"200": okJSON("Every schedule, by name.", ref("ScheduleList"))}, "401")},
		"/api/schedules/{name}/pause": obj{"post": op(tagSchedules, "pauseSchedule", "Pause a schedule: its ticks do nothing until it is resumed (on every worker, across restarts)", []obj{pSchedule}, opBody,
			map[string]obj{"200": okJSON("The schedule, paused.", ref("Schedule"))}, with(mutating, "404")...)},
		"/api/schedules/{name}/resume": obj{"post": op(tagSchedules, "resumeSchedule", "Resume a schedule; the ticks missed while paused are caught up or skipped as catch_up, or the schedule's policy, says", []obj{pSchedule}, optionalBody(ref("ScheduleResumeRequest")),
			map[string]obj{"200": okJSON("The schedule, resumed; started lists the runs of the ticks caught up.", ref("Schedule"))}, with(mutating, "404")...)},
		"/api/schedules/{name}/trigger": obj{"post": op(tagSchedules, "triggerSchedule", "Start one run of a schedule now, without moving its ticks", []obj{pSchedule}, opBody,
			map[string]obj{"200": okJSON("The schedule; started holds the run's ID.", ref("Schedule"))}, with(mutating, "404")...)},
	}
}

// serverPaths are the routes NewServer adds beside the API; /openapi.json
// and /healthz need no token.
func serverPaths() obj {
	return obj{
		"/openapi.json": obj{"get": obj{"tags": []string{tagServer}, "operationId": "openAPI", "summary": "This document", "security": []obj{},
			"responses": obj{"200": okJSON("The OpenAPI document.", obj{"type": "object"}), "421": problemResp(), "default": problemResp()}}},
		"/healthz": obj{"get": obj{"tags": []string{tagServer}, "operationId": "health", "summary": "The store's health (a cheap read with a timeout); without the token of a server that has one, the status only", "security": []obj{},
			"responses": obj{"200": okJSON("The store answers.", ref("Health")), "503": okJSON("The store does not answer.", ref("Health")), "421": problemResp(), "default": problemResp()}}},
		"/api/whoami": obj{"get": op(tagServer, "whoami", "The caller: its token's name and role (admin or read), so that a client shows only the controls it may use", nil, nil,
			map[string]obj{"200": okJSON("The caller.", ref("Whoami"))}, "401")},
		"/api/clock/advance": obj{"post": op(tagServer, "advanceClock", "Move the engine's manual clock forward (only with Options.Clock, as `weft dev --clock=manual` sets; 404 on the wall clock)", nil, jsonBody(ref("ClockAdvanceRequest")),
			map[string]obj{"200": okJSON("The clock's time after the move; runs whose timers fell due wake.", ref("ClockResponse"))}, with(mutating, "404")...)},
		"/metrics": obj{"get": obj{"tags": []string{tagServer}, "operationId": "metrics", "summary": "Prometheus metrics (text exposition format)",
			"responses": obj{"200": obj{"description": "The metrics.", "content": obj{"text/plain": obj{"schema": strSchema}}}, "401": problemResp(), "421": problemResp(), "default": problemResp()}}},
	}
}
