// Package hooks lets the test kit reach into an engine without widening the
// public API: the root package installs a setter here at init, and wefttest
// uses it to simulate crashes at chosen points of a run.
package hooks

import "time"

// Hooks are called by an engine at points where a process could die.
type Hooks struct {
	// BeforeJournal is called after a step's function returned and before its
	// result is journaled. Returning true simulates a crash there: the
	// execution stops without writing and without releasing its lease.
	BeforeJournal func(runID, step string, seq int) bool
	// AfterJournal is called after a step's result was journaled. Returning
	// true simulates a crash there.
	AfterJournal func(runID, step string, seq int) bool
}

// Install sets the hooks of an engine (a *weft.Engine). It is set by package
// weft at init.
var Install func(engine any, h *Hooks)

// NextWake returns the earliest moment at which an engine (a *weft.Engine)
// has work due that the store does not show, such as a consumer's retry
// (zero if none). It is set by package weft at init; the test kit moves its
// clock there.
var NextWake func(engine any) time.Time
