// Package wefttest is the test kit for weft workflows.
//
// It gives a Clock that the test moves, so that a workflow sleeping for 30
// days finishes in microseconds; an Env that runs an engine on a fresh SQLite
// file with that clock; RunToEnd, which drives a run to its end by skipping
// every wait; CrashAt, which makes the engine die at a chosen step as a killed
// process would, so the test can restart and check recovery; and CheckReplay,
// which checks that changed workflow code still replays the journals of runs
// in flight.
//
//	env := wefttest.NewEnv(t, func(e *weft.Engine) { mailflow.Register(e, mailer) })
//	id := env.Start("mailflow", "user-1", mailflow.Input{Email: "a@b.c"}) // returns the run's ID
//	r := env.RunToEnd(id)             // 365 days pass in the test clock
//	// assert r.Status, r.Result, the mails sent, …
package wefttest
