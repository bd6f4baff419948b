// Package testwait is the one way the tests of this module wait for a
// condition: poll it, with a budget, and fail with a message that says what
// was awaited and what was seen last.
//
// Two kinds of budget exist. Until and For bound a wait by a fixed timeout:
// for a condition that should hold soon (a run reaches a status, a consumer
// catches up). Progress bounds a wait by its progress: the budget is a stall
// timeout that starts again whenever the awaited count moves, so that a
// slow, busy machine that makes progress never fails a test, while a stuck
// one fails it as soon as nothing has moved for the stall timeout. Use
// Progress for work whose length grows with the load (thousands of runs to
// complete), never one overall timeout.
//
// Until, For and Progress must be called from the test's goroutine (they
// call t.Fatalf); Wait returns an error instead.
package testwait

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Timeout is the default budget of a wait that should end soon: long enough
// for a busy machine running the suite with the race detector, short
// enough that a hung test fails well within the go test timeout.
const Timeout = 30 * time.Second

// Poll intervals: cond is checked at once, then at intervals that double
// from minPoll up to maxPoll, so that fast conditions are seen at once and
// slow ones (a database query) are not checked in a tight loop.
const (
	minPoll = time.Millisecond
	maxPoll = 25 * time.Millisecond
)

// Wait polls cond until it reports done, and returns nil then. cond also
// returns a count that moves as the awaited work progresses and a message
// saying what it waits for and what it saw. Wait returns an error with the
// last message when the count has not changed for stall, or when ctx ends.
func Wait(ctx context.Context, stall time.Duration, cond func() (done bool, count int, msg string)) error {
	start := time.Now()
	last, lastAt := 0, start
	for poll, first := minPoll, true; ; poll = min(2*poll, maxPoll) {
		done, n, msg := cond()
		if done {
			return nil
		}
		now := time.Now()
		switch {
		case first || n != last:
			last, lastAt, first = n, now, false
		case now.Sub(lastAt) > stall:
			return fmt.Errorf("testwait: no progress for %v (after %v): %s", stall, now.Sub(start).Round(time.Millisecond), msg)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testwait: %w (after %v): %s", ctx.Err(), now.Sub(start).Round(time.Millisecond), msg)
		case <-time.After(poll):
		}
	}
}

// Until polls cond until it reports done and fails the test when timeout
// passes first. cond returns whether the wait is over and a message saying
// what it waits for and what it saw (for example "run r1 is running, want
// completed"), which the failure reports.
func Until(t testing.TB, timeout time.Duration, cond func() (done bool, msg string)) {
	t.Helper()
	if err := Wait(context.Background(), timeout, func() (bool, int, string) {
		done, msg := cond()
		return done, 0, msg
	}); err != nil {
		t.Fatal(err)
	}
}

// For polls cond until it holds and fails the test, naming what it waited
// for, when Timeout passes first.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Until(t, Timeout, func() (bool, string) { return cond(), "waiting for " + what })
}

// Progress polls cond until it reports done and fails the test when the
// count it reports has not changed for stall (see Wait).
func Progress(t testing.TB, stall time.Duration, cond func() (done bool, count int, msg string)) {
	t.Helper()
	if err := Wait(context.Background(), stall, cond); err != nil {
		t.Fatal(err)
	}
}
