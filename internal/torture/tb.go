package torture

import (
	"fmt"
	"os"
	"testing"
)

// harnessTB lets the driver, a command, use the test harness's private
// PostgreSQL server (pgtest.Private), whose API takes a testing.TB: the
// embedded interface is nil and only the methods the harness calls are
// implemented. A fatal error or a skip panics with *harnessStop, which the
// driver recovers where it called the harness; cleanups run at close.
//
// It is used from the driver's main goroutine only.
type harnessTB struct {
	testing.TB
	cleanups []func()
}

// harnessStop is what a fatal error (or a skip) of the harness panics with.
type harnessStop struct {
	msg  string
	skip bool
}

func (t *harnessTB) Helper()                      {}
func (t *harnessTB) Name() string                 { return "weft-torture" }
func (t *harnessTB) Cleanup(f func())             { t.cleanups = append(t.cleanups, f) }
func (t *harnessTB) Logf(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }
func (t *harnessTB) Errorf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "harness: "+format+"\n", a...)
}
func (t *harnessTB) Fatalf(format string, a ...any) {
	panic(&harnessStop{msg: fmt.Sprintf(format, a...)})
}
func (t *harnessTB) Fatal(a ...any) { panic(&harnessStop{msg: fmt.Sprint(a...)}) }
func (t *harnessTB) Skipf(format string, a ...any) {
	panic(&harnessStop{msg: fmt.Sprintf(format, a...), skip: true})
}

// close runs the cleanups, last registered first, as testing does.
func (t *harnessTB) close() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}

// harness calls f with the harness's testing.TB and returns its fatal error
// or skip, if any, as an error.
func (t *harnessTB) harness(f func(tb testing.TB)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s, ok := r.(*harnessStop)
			if !ok {
				panic(r)
			}
			err = s
		}
	}()
	f(t)
	return nil
}

func (s *harnessStop) Error() string { return s.msg }
