package store

import "time"

// ReportWorkerParams are the arguments of Store.ReportWorker.
type ReportWorkerParams struct {
	Worker string
	Build  string
	Time   time.Time
	// PruneBefore, when not zero, deletes the reports of workers last seen
	// before it: workers that stopped without leaving.
	PruneBefore time.Time
	// Leave deletes the worker's report instead of recording it.
	Leave bool
}
