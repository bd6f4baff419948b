//go:build soak

package wefttest_test

import "time"

// advanceSpan is how far TestAdvanceRunsEveryTickOfAPeriodic advances the
// clock under the build tag soak: 30 days of minutely ticks, 43,200 runs.
const advanceSpan = 30 * 24 * time.Hour
