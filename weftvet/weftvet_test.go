package weftvet_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/weftrun/weft/weftvet"
)

// TestAnalyzerBad checks that every kind of finding is reported, in
// literal, named, method and factory workflows and in the helpers they call.
func TestAnalyzerBad(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), weftvet.Analyzer, "bad")
}

// TestAnalyzerGood checks that steps, records, sorted keys and directives
// with a reason are not reported.
func TestAnalyzerGood(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), weftvet.Analyzer, "good")
}

// TestCheck runs the analyzer as `weft vet` does, on a package of the real
// weft API: the clock read outside the step is reported with its position,
// the one inside is not.
func TestCheck(t *testing.T) {
	var out bytes.Buffer
	n, err := weftvet.Check(".", []string{"./testdata/check"}, &out)
	if !errors.Is(err, weftvet.ErrFindings) || n != 1 {
		t.Fatalf("Check = %d, %v; want 1 finding and ErrFindings\n%s", n, err, out.String())
	}
	if want := "flows.go:19:6: time.Now reads or waits on the wall clock"; !strings.Contains(out.String(), want) {
		t.Fatalf("output %q does not contain %q", out.String(), want)
	}
}

// TestCheckLoadError reports packages that cannot be loaded as an error,
// not as a clean result.
func TestCheckLoadError(t *testing.T) {
	n, err := weftvet.Check(".", []string{"./testdata/nosuchdir"}, io.Discard)
	if err == nil || errors.Is(err, weftvet.ErrFindings) || n != 0 {
		t.Fatalf("Check = %d, %v; want a load error", n, err)
	}
}
