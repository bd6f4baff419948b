package api

// The OpenAPI paths and schemas of the overview, the entity lists and
// snapshots, the consumers' lag history and projections' rebuild.

var (
	pStream = param("stream", "query", "Only the events of this one stream (\"<type>:<id>\").", strSchema, false)
	pBefore = param("before", "query", "Only events before this log position (with after: a range of positions; 0: no bound).", posSchema, false)
)

func insightPaths() obj {
	return obj{
		"/api/overview": obj{"get": op(tagServer, "getOverview", "Where the system stands: runs started and ended per minute, the oldest waiting run, timer lag, consumers' lag, workers with their leases and builds", []obj{
			param("window", "query", "How far back the per-minute activity goes, as a Go duration from 1m to 24h.", obj{"type": "string", "default": "1h"}, false)}, nil,
			map[string]obj{"200": okJSON("The overview.", ref("Overview"))}, "400", "401")},
		"/api/entities/{type}": obj{"get": op(tagEntities, "listEntities", "The entities of a type that have events, by ID, with the JSON Schema of its commands", []obj{pEntType,
			param("prefix", "query", "Only entities whose IDs start with this.", idSchema, false),
			param("cursor", "query", "next_cursor of the previous page.", idSchema, false), pLimit}, nil,
			map[string]obj{"200": okJSON("A page of entities.", ref("EntityList"))}, "400", "401")},
		"/api/entities/{type}/{id}/snapshot": obj{"get": op(tagEntities, "getEntitySnapshot", "An entity's latest snapshot (weft.EntityDef.SnapshotEvery)", []obj{pEntType, pEntID}, nil,
			map[string]obj{"200": okJSON("The snapshot, or present false.", ref("EntitySnapshot"))}, read...)},
		"/api/consumers/history": obj{"get": op(tagConsumers, "consumerHistory", "Each consumer's lag over time, as the store keeps it: the worker running a consumer samples it about once a minute (weft.Config.LagSampleInterval), and samples are kept a day (LagRetention)", []obj{
			param("window", "query", "How far back the samples go, as a Go duration from 1m to 720h.", obj{"type": "string", "default": "6h"}, false)}, nil,
			map[string]obj{"200": okJSON("The samples by consumer, oldest first.", ref("LagHistory"))}, "400", "401")},
		"/api/consumers/{name}/rebuild": obj{"post": op(tagConsumers, "rebuildProjection", "Rebuild a projection: empty its view (its Reset) and replay the log from the start", []obj{pConsumer}, nil,
			map[string]obj{"200": okJSON("The projection, rewound to the start of the log.", ref("Consumer"))}, with(mutating, "404", "409")...)},
	}
}

func insightSchemas() obj {
	return obj{
		"Overview": object([]string{"time", "activity", "due_runs", "timer_lag_ms", "consumers", "workers"}, obj{
			"time":           timeSchema,
			"activity":       described("Runs started and ended per minute, oldest first; minutes without any are left out.", arrayOf(ref("RunActivity"))),
			"oldest_waiting": obj{"$ref": "#/components/schemas/Run", "description": "The run that has waited longest; absent when none waits."},
			"due_runs":       described("Runs due now that no worker holds.", posSchema),
			"timer_lag_ms":   described("How long the earliest of the due runs has been due, in milliseconds.", posSchema),
			"consumers":      arrayOf(ref("Consumer")),
			"workers":        arrayOf(ref("WorkerLoad"))}),
		"RunActivity": object([]string{"start", "started", "completed", "failed", "cancelled"}, obj{
			"start": timeSchema, "started": posSchema, "completed": posSchema, "failed": posSchema, "cancelled": posSchema}),
		"WorkerLoad": object([]string{"id", "runs", "partitions"}, obj{
			"id": strSchema, "build": optStr("The build it reports; absent for a worker that holds leases without reporting."),
			"last_seen": timeSchema, "runs": described("Run leases it holds.", posSchema), "partitions": described("Consumer partition leases it holds.", posSchema)}),
		"EntityList": object([]string{"type", "entities"}, obj{
			"type":           strSchema,
			"command_schema": obj{"type": "object", "description": "The JSON Schema of the type's commands, derived from their Go type; absent when the type is not registered on this server."},
			"entities":       arrayOf(ref("EntitySummary")),
			"next_cursor":    optStr("The cursor of the next page; absent on the last.")}),
		"EntitySummary": object([]string{"id", "version"}, obj{"id": strSchema, "version": posSchema}),
		"EntitySnapshot": object([]string{"type", "id", "present"}, obj{"type": strSchema, "id": strSchema,
			"present": boolSchema, "version": posSchema, "state": anyJSON}),
		"LagHistory": object([]string{"consumers"}, obj{"consumers": obj{"type": "object", "additionalProperties": arrayOf(ref("LagSample"))}}),
		"LagSample": object([]string{"time", "position", "head", "lag"}, obj{
			"time": timeSchema, "position": posSchema, "head": posSchema, "lag": posSchema}),
		"ViewTable": object([]string{"table", "rows"}, obj{"table": strSchema, "rows": posSchema}),
	}
}
