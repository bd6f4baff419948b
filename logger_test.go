package weft_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
)

// lockedBuffer is a bytes.Buffer safe for the engine's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the JSON lines whose msg is msg.
func (l *lockedBuffer) lines(t *testing.T, msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// TestLoggerIsReplayAware runs a workflow that logs before and after a
// step and a durable sleep, so that its second execution replays the step
// and the first log lines: each line is written once, with the run's ID,
// workflow and build, and the step's line also with the step and attempt.
func TestLoggerIsReplayAware(t *testing.T) {
	var buf lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := wefttest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	eng, err := weft.New(weft.Config{Store: openStore(t), Clock: clock, Logger: logger, BuildID: "b7", PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	executions := 0
	wf := weft.RegisterWorkflow(eng, "greeter", func(ctx context.Context, name string) (string, error) {
		executions++
		log := weft.Logger(ctx)
		log.Info("starting", "name", name)
		out, err := weft.Step(ctx, "greet", func(ctx context.Context) (string, error) {
			weft.Logger(ctx).Info("in step")
			return "hello " + name, nil
		})
		if err != nil {
			return "", err
		}
		log.Info("greeted", "out", out)
		if err := weft.Sleep(ctx, 24*time.Hour); err != nil {
			return "", err
		}
		log.Info("woke")
		return out, nil
	})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Stop(context.Background()) })
	if _, err := wf.Start(ctx, "r1", "ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := wefttest.RunToEnd(ctx, eng, clock, "r1"); err != nil {
		t.Fatal(err)
	}
	if executions < 2 {
		t.Fatalf("%d execution(s): the sleep did not make the run replay", executions)
	}
	for _, msg := range []string{"starting", "greeted", "woke", "in step"} {
		lines := buf.lines(t, msg)
		if len(lines) != 1 {
			t.Errorf("%q logged %d times over %d executions, want once", msg, len(lines), executions)
			continue
		}
		want := map[string]any{weft.LogKeyRun: "r1", weft.LogKeyWorkflow: "greeter", weft.LogKeyBuild: "b7"}
		if msg == "in step" {
			want[weft.LogKeyStep], want[weft.LogKeyAttempt] = "greet", float64(1)
		}
		for k, v := range want {
			if lines[0][k] != v {
				t.Errorf("%q: %s = %v, want %v", msg, k, lines[0][k], v)
			}
		}
	}
	if weft.Logger(ctx) != slog.Default() {
		t.Error("Logger outside a workflow or step is not slog.Default()")
	}
}
