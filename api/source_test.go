package api_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// onboardingFile is the module form of the onboarding example's file.
const onboardingFile = "github.com/weftrun/weft/examples/onboarding/onboarding.go"

// awaitedSource returns the source the waiting run o1 shows for file:line.
func (a *testAPI) awaitedSource(file string, line int) api.Source {
	a.t.Helper()
	var src api.Source
	r := a.do("GET", "/api/runs/o1/source?file="+url.QueryEscape(file), nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(a.t, &src)
	if src.File != file || src.Name != "examples/onboarding/onboarding.go" || len(src.Lines) < line || !strings.Contains(src.Lines[line-1], "weft.Await[") {
		a.t.Fatalf("source %q (%q, %d lines), want onboarding.go with the Await at line %d", src.File, src.Name, len(src.Lines), line)
	}
	return src
}

func TestSourceFromFS(t *testing.T) {
	text, err := os.ReadFile("../examples/onboarding/onboarding.go")
	if err != nil {
		t.Fatal(err)
	}
	// As a server without a checkout: no source root holds the module, an
	// embedded FS does.
	a := newTestAPI(t, api.Options{
		SourceRoots: []string{t.TempDir()},
		SourceFS:    map[string]fs.FS{"github.com/weftrun/weft": fstest.MapFS{"examples/onboarding/onboarding.go": {Data: text}}},
	})
	a.env.Start(onboarding.Name, "o1", onboarding.Input{Email: "a@b.c"})
	a.settle("o1", isWaiting)
	a.awaitedSource(onboardingFile, awaitLine(t))
}

func TestSourceOfOlderJournal(t *testing.T) {
	// Journals written before sources were in module form name files by
	// their absolute path: those under a source root still show.
	a := newTestAPI(t, api.Options{})
	abs, err := filepath.Abs("../examples/onboarding/onboarding.go")
	if err != nil {
		t.Fatal(err)
	}
	line := awaitLine(t)
	data, _ := json.Marshal(map[string]any{"seq": 1, "name": onboarding.SignalVerified, "source": abs + ":" + strconv.Itoa(line)})
	if _, err := a.env.Store.CreateRun(context.Background(), &store.CreateRunParams{
		ID: "o1", Workflow: "retired", Time: a.env.Clock.Now(),
		Events: []weftype.NewEvent{{Type: weft.EventAwaitStarted, Data: data}},
	}); err != nil {
		t.Fatal(err)
	}
	a.awaitedSource(abs, line)
}
