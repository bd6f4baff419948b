package api

import (
	"net/http"
	"time"
)

// QueueList is the answer of GET /api/queues.
type QueueList struct {
	// Queues are the queues of runs the store knows, by name.
	Queues []Queue `json:"queues"`
}

// Queue is a queue (weft.QueueDef) with its limits, as the engines saved
// them last, and what it holds now: runs on it (weft.OnQueue) and steps
// (weft.StepOnQueue).
type Queue struct {
	Name string `json:"name"`
	// Queued counts the runs waiting to be admitted, Running the runs
	// admitted that have not ended, and Limit is the queue's concurrency
	// (0: none).
	Queued  int64 `json:"queued"`
	Running int64 `json:"running"`
	Limit   int   `json:"limit"`
	// StepsQueued counts the step attempts waiting for a slot of the
	// queue (weft.StepOnQueue), StepsRunning those holding one. Steps
	// and runs have limits of the same values but count apart.
	StepsQueued  int64 `json:"steps_queued"`
	StepsRunning int64 `json:"steps_running"`
	// PerWorker, RateN per RatePerMS milliseconds and KeyConcurrency are
	// its other limits (0: none); AgingMS is how long a waiting run takes
	// to gain a level of priority (0: strict priority).
	PerWorker      int   `json:"per_worker"`
	RateN          int   `json:"rate_n"`
	RatePerMS      int64 `json:"rate_per_ms"`
	KeyConcurrency int   `json:"key_concurrency"`
	AgingMS        int64 `json:"aging_ms"`
	// OldestQueuedAt is when the run waiting longest joined the queue, and
	// WaitMS how long it has waited so far; both absent when none waits.
	OldestQueuedAt *time.Time `json:"oldest_queued_at,omitempty"`
	WaitMS         int64      `json:"wait_ms"`
	// Admitted counts the runs admitted in the last hour, and MeanWaitMS
	// is their mean wait in the queue.
	Admitted   int64 `json:"admitted_last_hour"`
	MeanWaitMS int64 `json:"mean_wait_ms"`
}

// listQueues serves GET /api/queues.
func (h *handler) listQueues(w http.ResponseWriter, r *http.Request) error {
	qs, err := h.eng.Queues(r.Context())
	if err != nil {
		return err
	}
	now := h.eng.Clock().Now()
	out := QueueList{Queues: make([]Queue, len(qs))}
	for i, q := range qs {
		out.Queues[i] = Queue{
			Name: q.Name, Queued: q.Queued, Running: q.Running, Limit: q.Concurrency,
			StepsQueued: q.StepsQueued, StepsRunning: q.StepsRunning,
			PerWorker: q.PerWorker, RateN: q.RateN, RatePerMS: q.RatePer.Milliseconds(), KeyConcurrency: q.KeyConcurrency,
			AgingMS: q.Aging.Milliseconds(), OldestQueuedAt: timePtr(q.OldestQueuedAt),
			Admitted: q.Admitted, MeanWaitMS: q.MeanWait.Milliseconds(),
		}
		if !q.OldestQueuedAt.IsZero() {
			out.Queues[i].WaitMS = max(0, now.Sub(q.OldestQueuedAt).Milliseconds())
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// queuePaths documents GET /api/queues.
func queuePaths() obj {
	return obj{"/api/queues": obj{"get": op(tagRuns, "listQueues", "Queues with their limits, the runs and steps that wait and run in them and how long runs wait", nil, nil,
		map[string]obj{"200": okJSON("The queues, by name.", ref("QueueList"))}, read...)}}
}

// queueSchemas are the schemas of GET /api/queues.
func queueSchemas() obj {
	ms := func(d string) obj { return obj{"type": "integer", "format": "int64", "description": d} }
	count := func(d string) obj { return obj{"type": "integer", "description": d} }
	return obj{
		"QueueList": object([]string{"queues"}, obj{"queues": arrayOf(ref("Queue"))}),
		"Queue": object([]string{"name", "queued", "running", "steps_queued", "steps_running", "limit", "per_worker", "rate_n", "rate_per_ms", "key_concurrency",
			"aging_ms", "wait_ms", "admitted_last_hour", "mean_wait_ms"}, obj{
			"name":               strSchema,
			"queued":             count("Runs waiting to be admitted (delayed starts too)."),
			"running":            count("Runs admitted that have not ended."),
			"steps_queued":       count("Step attempts waiting for a slot of the queue (weft.StepOnQueue)."),
			"steps_running":      count("Step attempts holding a slot of the queue."),
			"limit":              count("The most runs admitted and not ended at once, across workers; 0: no limit."),
			"per_worker":         count("The most runs one worker executes at once; 0: no limit."),
			"rate_n":             count("Admissions per rate_per_ms; 0: no limit."),
			"rate_per_ms":        ms("The rate's period."),
			"key_concurrency":    count("The most runs admitted and not ended at once per concurrency key."),
			"aging_ms":           ms("How long a waiting run takes to gain a level of priority; 0: strict priority."),
			"oldest_queued_at":   timeSchema,
			"wait_ms":            ms("How long the run waiting longest has waited."),
			"admitted_last_hour": count("Runs admitted in the last hour."),
			"mean_wait_ms":       ms("The mean wait of the runs admitted in the last hour."),
		}),
	}
}
