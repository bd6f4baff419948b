package api

// The OpenAPI paths and schemas of views (views.go) and named timers
// (timers.go).

var (
	pView      = param("view", "path", "The view's name (weft.ViewDef.Name).", nameSchema, true)
	pViewQuery = param("query", "path", "The query's name, one of the view's Queries.", nameSchema, true)
	pTimer     = param("name", "path", "The timer's name, path-escaped.", obj{"type": "string", "minLength": 1, "maxLength": 200}, true)
)

func viewPaths() obj {
	return obj{
		"/api/views": obj{"get": op(tagViews, "listViews", "The views registered on the server (weft.RegisterView), with their queries and parameters", nil, nil,
			map[string]obj{"200": okJSON("Every view, by name.", ref("ViewList"))}, "401")},
		"/api/views/{view}/{query}": obj{"get": op(tagViews, "queryView",
			"Run a view's query; every other query parameter of the URL is one of the query's params (each required, once). With Accept: text/event-stream, a live stream of \"rows\" events: the rows at once, then again each time they change",
			[]obj{pView, pViewQuery}, nil,
			map[string]obj{"200": viewRowsResp()}, with(read, "429")...)},
	}
}

// viewRowsResp is the answer of a view query: JSON, or a live stream.
func viewRowsResp() obj {
	resp := okJSON("The rows, each an object of column → value.", ref("ViewRows"))
	live := sseResp("", obj{"rows": ref("ViewRows"), "error": ref("Problem")})
	resp["content"].(obj)["text/event-stream"] = live["content"].(obj)["text/event-stream"]
	return resp
}

func timerPaths() obj {
	return obj{
		"/api/timers": obj{"get": op(tagTimers, "listTimers", "Named timers: waiting, being fired, and failed for good (no due_at)",
			[]obj{param("prefix", "query", "Only timers whose name starts with this.", strSchema, false)}, nil,
			map[string]obj{"200": okJSON("The timers, by name.", ref("TimerList"))}, "401")},
		"/api/timers/{name}": obj{
			"get": op(tagTimers, "getTimer", "A named timer", []obj{pTimer}, nil,
				map[string]obj{"200": okJSON("The timer.", ref("Timer"))}, read...),
			"put": op(tagTimers, "setTimer", "Set a named timer: a command to an entity or a workflow start, at a time or after a delay; replaces a timer of that name", []obj{pTimer},
				jsonBody(ref("TimerRequest")), map[string]obj{"200": okJSON("The timer as stored.", ref("Timer"))}, with(mutating, "404", "422")...),
			"delete": op(tagTimers, "cancelTimer", "Cancel a named timer", []obj{pTimer}, nil,
				map[string]obj{"204": obj{"description": "Cancelled."}}, with(mutating, "404")...),
		},
	}
}

func viewTimerSchemas() obj {
	return obj{
		"ViewList": object([]string{"views"}, obj{"views": arrayOf(ref("ViewInfo"))}),
		"ViewInfo": object([]string{"name", "queries"}, obj{"name": strSchema, "queries": arrayOf(ref("ViewQueryInfo"))}),
		"ViewQueryInfo": object([]string{"name", "params"}, obj{"name": strSchema, "description": strSchema,
			"params": described("The URL parameters the query takes, in the order of its placeholders.", arrayOf(strSchema))}),
		"ViewRows": object([]string{"view", "query", "rows"}, obj{"view": strSchema, "query": strSchema,
			"rows": arrayOf(obj{"type": "object", "description": "A row: column → value (JSON documents stored in a column are sent as JSON)."})}),
		"Timer": object([]string{"name", "id", "kind", "payload", "created_at", "attempts"}, obj{
			"name": strSchema, "id": optStr("Changes each time the name is set."),
			"kind":   obj{"type": "string", "enum": []string{"command", "start"}},
			"entity": strSchema, "entity_id": strSchema, "workflow": strSchema, "run_id": strSchema,
			"payload":    described("The command or the input.", anyJSON),
			"due_at":     described("When it fires next; absent for a timer that failed for good.", timeSchema),
			"created_at": timeSchema, "attempts": intSchema,
			"error":       optStr("The last failure."),
			"lease_owner": optStr("The worker firing it right now.")}),
		"TimerList": object([]string{"timers", "now"}, obj{"timers": arrayOf(ref("Timer")),
			"now": described("The engine clock's time when the list was read, which due times are told from (a test clock may be far from the wall clock).", timeSchema)}),
		"TimerRequest": request(nil, obj{
			"at":     described("When to fire (RFC 3339).", timeSchema),
			"after":  optStr("Or how long from now, as a Go duration (90s, 2h); neither: at once."),
			"entity": strSchema, "entity_id": strSchema, "command": described("The command for the entity.", anyJSON),
			"workflow": strSchema, "run_id": optStr("The run's ID; default timer-<name>-<timer id>."), "input": described("The input of the run.", anyJSON)}),
	}
}
