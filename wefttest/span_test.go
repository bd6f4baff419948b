//go:build !soak

package wefttest_test

import "time"

// advanceSpan is how far TestAdvanceRunsEveryTickOfAPeriodic advances the
// clock: an hour of minutely ticks, short enough for every test run.
const advanceSpan = time.Hour
