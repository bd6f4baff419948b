package cli_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

var ctx = context.Background()

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type result struct {
	stdout, stderr string
	code           int
}

// stock is the stock weft command, as cmd/weft builds it.
var stock = cli.App{Name: "weft", Examples: cli.RegisterExamples, Bench: true}

// run runs app with args in process, with no WEFT_ environment.
func run(t *testing.T, app cli.App, args ...string) result {
	t.Helper()
	for _, env := range []string{cli.EnvDB, cli.EnvAddr, cli.EnvToken, cli.EnvAdminTokens, cli.EnvReadTokens} {
		t.Setenv(env, "")
	}
	var out, errb bytes.Buffer
	code := app.Execute(ctx, args, &out, &errb)
	return result{out.String(), errb.String(), code}
}

// ok runs the stock weft with args and fails the test unless it exits 0.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, stock, args...)
	if r.code != cli.ExitOK {
		t.Fatalf("weft %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs the stock weft and checks its exit code and that stderr says want.
func fails(t *testing.T, code int, want string, args ...string) result {
	t.Helper()
	r := run(t, stock, args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		t.Fatalf("weft %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
	return r
}

// A user's app, defined here and not among the examples: a "visit" workflow
// that awaits a signal "go" then greets (its update "rename" changes whom), a "tally" entity and a consumer
// "tally-log" of its events.
type tally struct {
	N int `json:"n"`
}

type add struct {
	By int `json:"by"`
}

type added struct {
	By int `json:"by"`
}

var errNegative = errors.New("tally: a negative add")

func registerUserApp(eng *weft.Engine, _ *slog.Logger) error {
	weft.RegisterEntity(eng, weft.EntityDef[tally, add, added]{
		Name: "tally",
		Decide: func(_ tally, c add) ([]added, error) {
			if c.By < 0 {
				return nil, errNegative
			}
			return []added{{By: c.By}}, nil
		},
		Evolve: func(s tally, e added) tally { s.N += e.By; return s },
	})
	weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "tally-log", StreamPrefix: "tally:", Handle: func(context.Context, weftype.Event) error { return nil }})
	weft.RegisterWorkflow(eng, "visit", func(ctx context.Context, name string) (string, error) {
		weft.SetQuery(ctx, "who", func() (any, error) { return name, nil })
		weft.HandleUpdate(ctx, "rename", func(_ context.Context, to string) (string, error) {
			name = to
			return "renamed to " + to, nil
		}, weft.ValidateUpdate(func(to string) error {
			if to == "" {
				return errors.New("a name is needed")
			}
			return nil
		}))
		if _, err := weft.Await[struct{}](ctx, "go", time.Hour); err != nil {
			return "", err
		}
		return weft.Step(ctx, "greet", func(context.Context) (string, error) { return "hello " + name, nil })
	})
	return nil
}

// userApp is the user's app running on a SQLite file with the real API on
// an httptest server.
type userApp struct {
	db, url string
	eng     *weft.Engine
}

func startUserApp(t *testing.T) *userApp {
	t.Helper()
	return startRegistered(t, registerUserApp)
}

// startUserAppWith is startUserApp with more registered on the engine by
// more.
func startUserAppWith(t *testing.T, more func(*weft.Engine)) *userApp {
	t.Helper()
	return startRegistered(t, func(eng *weft.Engine, logger *slog.Logger) error {
		if err := registerUserApp(eng, logger); err != nil {
			return err
		}
		more(eng)
		return nil
	})
}

// startRegistered runs the app that register registers, as startUserApp does.
func startRegistered(t *testing.T, register func(*weft.Engine, *slog.Logger) error) *userApp {
	t.Helper()
	db := filepath.Join(t.TempDir(), "app.db")
	st, err := sqlite.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := weft.New(weft.Config{Store: st, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := register(eng, nil); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(eng, api.Options{AllowOpen: true}))
	t.Cleanup(func() {
		srv.Close()
		_ = eng.Stop(ctx)
		_ = st.Close()
	})
	return &userApp{db: db, url: srv.URL, eng: eng}
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
