package api

// The OpenAPI paths and schemas of the run operations (ops.go).

func runOpPaths() obj {
	opBody := optionalBody(ref("OpRequest"))
	runOp := func(id, summary, ok string) obj {
		return obj{"post": op(tagRuns, id, summary, []obj{pID}, opBody,
			map[string]obj{"200": okJSON(ok, ref("Run"))}, with(mutating, "404", "409")...)}
	}
	return obj{
		"/api/runs/{id}/terminate": runOp("terminateRun", "Stop a run now: no more steps, no compensation", "Terminated (or terminated already); the run."),
		"/api/runs/{id}/cancel":    runOp("cancelRun", "Cancel a run and its children (the workflow sees the cancellation and may compensate)", "Cancellation requested; the run as it is now."),
		"/api/runs/{id}/suspend":   runOp("suspendRun", "Suspend a run: no step runs until resumed; signals are kept", "Suspended; the run."),
		"/api/runs/{id}/resume":    runOp("resumeRun", "Resume a suspended run at once", "Resumed; the run."),
		"/api/runs/{id}/retry":     runOp("retryRun", "Continue a failed or blocked run from the step that failed, with the current code", "Retried; the run."),
		"/api/runs/{id}/reset": obj{"post": op(tagRuns, "resetRun", "Start a new run replaying the journal up to to_seq; the old one, if live, is terminated", []obj{pID},
			jsonBody(ref("ResetRunRequest")), map[string]obj{"200": okJSON("The new run.", ref("Run"))}, with(mutating, "404", "409")...)},
		"/api/runs/batch": obj{"post": op(tagRuns, "startBatch", "Terminate, cancel, retry or delete the runs a filter selects, as a background job (dry_run: the count only)", nil,
			jsonBody(ref("BatchRequest")), map[string]obj{"200": okJSON("Dry run: the count.", ref("BatchResponse")),
				"202": okJSON("Started: the job and the count.", ref("BatchResponse"))}, mutating...)},
		"/api/runs/batch/{job}": obj{"get": op(tagRuns, "getBatch", "A bulk job's progress", []obj{param("job", "path", "The job ID.", idSchema, true)}, nil,
			map[string]obj{"200": okJSON("Its progress.", ref("BulkJob"))}, "401", "404")},
		"/api/runs/purge": obj{"post": op(tagRuns, "purgeRuns", "Delete the runs that ended longer ago than older_than, with their journals", nil,
			jsonBody(ref("PurgeRequest")), map[string]obj{"200": okJSON("The runs purged (dry run: that would be).", ref("BatchResponse"))}, mutating...)},
	}
}

func runOpSchemas() obj {
	return obj{
		"OpRequest":       request(nil, obj{"reason": reasonSchema}),
		"ResetRunRequest": request([]string{"to_seq"}, obj{"to_seq": posSchema, "reason": reasonSchema}),
		"BatchRequest": request([]string{"op"}, obj{
			"op": obj{"type": "string", "enum": []string{"terminate", "cancel", "retry", "delete"}}, "reason": reasonSchema, "dry_run": boolSchema,
			"filter": request(nil, obj{"workflow": strSchema, "status": ref("RunStatus"), "started_before": timeSchema, "started_after": timeSchema, "id_prefix": strSchema})}),
		"BatchResponse": object([]string{"count"}, obj{"job": strSchema, "count": intSchema}),
		"BulkJob": object([]string{"job", "op", "total", "done", "failed", "state"}, obj{
			"job": strSchema, "op": strSchema, "total": intSchema, "done": intSchema, "failed": intSchema,
			"state": obj{"type": "string", "enum": []string{"running", "done"}}}),
		"PurgeRequest": request([]string{"older_than"}, obj{
			"older_than": optStr("A Go duration (720h) or a number of days (30d)."), "dry_run": boolSchema}),
	}
}
