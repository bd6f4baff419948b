// Package examples registers weft's example process managers on an engine,
// with effects that are logged (and optionally appended to a file), for
// `weft dev`, the benchmarks and the crash tests.
package examples

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples/mailflow"
	"github.com/weftrun/weft/examples/onboarding"
)

// Effects performs the examples' side effects by logging them and, when Path
// is set, appending one line "<effect> <key>" per effect to the file, synced,
// so that a test can count effects across process crashes.
type Effects struct {
	Log  *slog.Logger
	Path string
	// After, when set, is called after each effect with its name (crash tests
	// use it to hang the process between an effect and its journal entry).
	After func(effect string)

	mu sync.Mutex
}

func (fx *Effects) do(ctx context.Context, effect, key string, attrs ...any) error {
	if fx.Log != nil {
		fx.Log.InfoContext(ctx, "effect "+effect, append([]any{"key", key}, attrs...)...)
	}
	if fx.Path == "" {
		return nil
	}
	fx.mu.Lock()
	defer fx.mu.Unlock()
	f, err := os.OpenFile(fx.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s %s\n", effect, key); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if fx.After != nil {
		fx.After(effect)
	}
	return nil
}

// SaveEmail implements onboarding.Services.
func (fx *Effects) SaveEmail(ctx context.Context, key, email string) error {
	return fx.do(ctx, "save-email", key, "email", email)
}

// RegisterUser implements onboarding.Services; the user ID derives from the key.
func (fx *Effects) RegisterUser(ctx context.Context, key, email string) (string, error) {
	return "user-" + key, fx.do(ctx, "register-user", key, "email", email)
}

// SendVerification implements onboarding.Services.
func (fx *Effects) SendVerification(ctx context.Context, key, email, secret string) error {
	return fx.do(ctx, "send-verification", key, "email", email, "secret", secret)
}

// SendReminder implements onboarding.Services.
func (fx *Effects) SendReminder(ctx context.Context, key, email string) error {
	return fx.do(ctx, "send-reminder", key, "email", email)
}

// Activate implements onboarding.Services.
func (fx *Effects) Activate(ctx context.Context, key, userID string) error {
	return fx.do(ctx, "activate", key, "user", userID)
}

// Send implements mailflow.Mailer.
func (fx *Effects) Send(ctx context.Context, key, to, template string) error {
	return fx.do(ctx, "mail-"+template, key, "to", to)
}

// Registered lists what Register registers, for `weft dev` to print.
var Registered = []string{onboarding.Name, mailflow.Name}

// Register registers every example workflow on e with fx as their effects.
// A nil fx logs nothing.
func Register(e *weft.Engine, fx *Effects) {
	if fx == nil {
		fx = &Effects{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	onboarding.Register(e, fx)
	mailflow.Register(e, fx)
}
