package weftotel_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them. pgx
// closes a connection whose query was cancelled (an engine stopping on
// PostgreSQL) in a goroutine of its own that drains the socket until the
// server hangs up, bounded by 15 seconds: that one is not a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/jackc/pgx/v5/pgconn.(*PgConn).asyncClose.func1"))
}
