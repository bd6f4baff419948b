package api

// The OpenAPI paths and schemas of the run operations (ops.go), kept apart
// from openapi.go's so that each block reads on its own.

func addOpsPaths(paths obj, mutating []string) {
	opBody := obj{"required": false, "content": obj{"application/json": obj{"schema": ref("OpRequest")}}}
	runOp := func(id, summary, ok string) obj {
		return obj{"post": op(id, summary, []obj{pID}, opBody,
			map[string]obj{"200": okJSON(ok, ref("Run"))}, append(mutating, "404", "409")...)}
	}
	paths["/api/runs/{id}/terminate"] = runOp("terminateRun", "Stop a run now: no more steps, no compensation", "Terminated (or terminated already); the run.")
	paths["/api/runs/{id}/cancel"] = runOp("cancelRun", "Cancel a run and its children (the workflow sees the cancellation and may compensate)", "Cancellation requested; the run as it is now.")
	paths["/api/runs/{id}/suspend"] = runOp("suspendRun", "Suspend a run: no step runs until resumed; signals are kept", "Suspended; the run.")
	paths["/api/runs/{id}/resume"] = runOp("resumeRun", "Resume a suspended run at once", "Resumed; the run.")
	paths["/api/runs/{id}/retry"] = runOp("retryRun", "Continue a failed or blocked run from the step that failed, with the current code", "Retried; the run.")
	paths["/api/runs/{id}/reset"] = obj{"post": op("resetRun", "Start a new run replaying the journal up to to_seq; the old one, if live, is terminated", []obj{pID},
		jsonBody(ref("ResetRunRequest")), map[string]obj{"200": okJSON("The new run.", ref("Run"))}, append(mutating, "404", "409")...)}
	get := paths["/api/runs/{id}"].(obj)
	get["delete"] = op("deleteRun", "Delete a run that has ended, with its journal (audited in the server's log)", []obj{pID}, nil,
		map[string]obj{"204": obj{"description": "Deleted."}}, append(mutating, "404", "409")...)
	paths["/api/runs/batch"] = obj{"post": op("startBatch", "Terminate, cancel, retry or delete the runs a filter selects, as a background job (dry_run: the count only)", nil,
		jsonBody(ref("BatchRequest")), map[string]obj{"200": okJSON("Dry run: the count.", ref("BatchResponse")),
			"202": okJSON("Started: the job and the count.", ref("BatchResponse"))}, mutating...)}
	paths["/api/runs/batch/{job}"] = obj{"get": op("getBatch", "A bulk job's progress", []obj{param("job", "path", "The job ID.", idSchema, true)}, nil,
		map[string]obj{"200": okJSON("Its progress.", ref("BulkJob"))}, "401", "404")}
	paths["/api/runs/purge"] = obj{"post": op("purgeRuns", "Delete the runs that ended longer ago than older_than, with their journals", nil,
		jsonBody(ref("PurgeRequest")), map[string]obj{"200": okJSON("The runs purged (dry run: that would be).", ref("BatchResponse"))}, mutating...)}
}

func addOpsSchemas(schemas obj) {
	reason := obj{"type": "string", "maxLength": MaxReasonLength}
	schemas["OpRequest"] = obj{"type": "object", "additionalProperties": false, "properties": obj{"reason": reason}}
	schemas["ResetRunRequest"] = obj{"type": "object", "required": []string{"to_seq"}, "additionalProperties": false,
		"properties": obj{"to_seq": posSchema, "reason": reason}}
	schemas["BatchRequest"] = obj{"type": "object", "required": []string{"op"}, "additionalProperties": false, "properties": obj{
		"op": obj{"type": "string", "enum": []string{"terminate", "cancel", "retry", "delete"}}, "reason": reason, "dry_run": obj{"type": "boolean"},
		"filter": obj{"type": "object", "additionalProperties": false, "properties": obj{
			"workflow": strSchema, "status": ref("RunStatus"), "started_before": timeSchema, "started_after": timeSchema, "id_prefix": strSchema}}}}
	schemas["BatchResponse"] = obj{"type": "object", "required": []string{"count"}, "properties": obj{"job": strSchema, "count": obj{"type": "integer"}}}
	schemas["BulkJob"] = obj{"type": "object", "required": []string{"job", "op", "total", "done", "failed", "state"}, "properties": obj{
		"job": strSchema, "op": strSchema, "total": obj{"type": "integer"}, "done": obj{"type": "integer"}, "failed": obj{"type": "integer"},
		"state": obj{"type": "string", "enum": []string{"running", "done"}}}}
	schemas["PurgeRequest"] = obj{"type": "object", "required": []string{"older_than"}, "additionalProperties": false, "properties": obj{
		"older_than": obj{"type": "string", "description": "A Go duration (720h) or a number of days (30d)."}, "dry_run": obj{"type": "boolean"}}}
}
