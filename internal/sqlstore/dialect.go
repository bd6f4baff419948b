package sqlstore

import (
	"strconv"
	"strings"
)

// Dialect is what differs between the SQL databases a Store runs on. Its
// methods are called concurrently and must not block.
type Dialect interface {
	// Rebind rewrites a query written with ? placeholders into the driver's
	// placeholder syntax. Queries contain no ? inside string literals.
	Rebind(query string) string
	// ClaimLock is appended to the SELECT that picks the runs ClaimRuns leases,
	// inside the write transaction: "" where writers are serialized anyway
	// (SQLite), "FOR UPDATE SKIP LOCKED" on PostgreSQL so that concurrent
	// claimers skip each other's rows instead of waiting.
	ClaimLock() string
	// IsUniqueViolation reports whether err is a violated unique or primary key
	// constraint. A Store maps it to a *weftype.ConflictError where two writers
	// raced to create the same stream.
	IsUniqueViolation(err error) bool
}

// RebindDollar rewrites ? placeholders as $1, $2, … (PostgreSQL).
func RebindDollar(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}
