package sqlstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/weftrun/weft/internal/groupcommit"
	"github.com/weftrun/weft/weftype"
)

var (
	errRefused = errors.New("connect: connection refused") // never sent
	errReset   = errors.New("read: connection reset")      // sent, no answer
	errShut    = errors.New("FATAL: terminating connection due to administrator command (SQLSTATE 57P01)")
	errOther   = errors.New("duplicate key")
)

// downDialect classifies the errors above as a dialect would.
type downDialect struct{ sqliteDialect }

func (downDialect) Unavailable(err error) (bool, bool) {
	switch {
	case errors.Is(err, errRefused), errors.Is(err, errShut):
		return true, true
	case errors.Is(err, errReset):
		return true, false
	}
	return false, false
}

// TestUnavailableOutcome checks how a store reports an unavailable
// database: a write whose COMMIT went unanswered has an unknown outcome,
// never a success nor a sure failure; everything else did not commit.
func TestUnavailableOutcome(t *testing.T) {
	s := &Store{d: downDialect{}}
	commit := func(err error) error { return fmt.Errorf("write: %w", &groupcommit.CommitError{Err: err}) }
	for _, c := range []struct {
		name          string
		err           error
		unavail, lost bool
	}{
		{"refused before the transaction", fmt.Errorf("begin write transaction: %w", errRefused), true, false},
		{"broken during a statement", fmt.Errorf("append: %w", errReset), true, false},
		{"broken at the COMMIT", commit(errReset), true, true},
		{"server shut down, answering the COMMIT", commit(errShut), true, false},
		{"another error at the COMMIT", commit(errOther), false, false},
		{"another error", errOther, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.unavailable(c.err)
			if got := errors.Is(err, weftype.ErrStoreUnavailable); got != c.unavail {
				t.Fatalf("unavailable(%v) = %v, matches ErrStoreUnavailable: %v, want %v", c.err, err, got, c.unavail)
			}
			if !errors.Is(err, c.err) {
				t.Errorf("unavailable(%v) = %v, which does not wrap it", c.err, err)
			}
			var ue *weftype.StoreUnavailableError
			if errors.As(err, &ue) && ue.Unknown != c.lost {
				t.Errorf("unavailable(%v): Unknown = %v, want %v", c.err, ue.Unknown, c.lost)
			}
		})
	}
	if s.unavailable(nil) != nil {
		t.Error("unavailable(nil) is not nil")
	}
}
