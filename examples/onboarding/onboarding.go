// Package onboarding is the user-onboarding process manager written as a weft
// workflow: save the email, register the user, make a secret, send the
// verification mail, wait up to 7 days for the user to verify (then remind),
// give up after 14 days, or activate the account.
//
// It is an acceptance test of weft: its tests drive every branch with the
// test clock and kill a real process in the middle to check recovery.
package onboarding

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/weftrun/weft"
)

// Name is the workflow's registered name.
const Name = "onboarding"

// SignalVerified is the signal the user's click sends, with a Verification.
const SignalVerified = "verified"

// ReminderAfter and GiveUpAfter are the waits for the verification.
const (
	ReminderAfter = 7 * 24 * time.Hour
	GiveUpAfter   = 14 * 24 * time.Hour
)

// Input starts an onboarding.
type Input struct {
	Email string `json:"email"`
}

// Verification is the payload of SignalVerified.
type Verification struct {
	Secret string `json:"secret"`
}

// Result is how an onboarding ended: Status is "active" or "abandoned".
type Result struct {
	UserID string `json:"user_id,omitempty"`
	Status string `json:"status"`
}

// Services are the side effects of onboarding. Each call gets an idempotency
// key that is stable for the step across retries and crashes.
type Services interface {
	SaveEmail(ctx context.Context, key, email string) error
	RegisterUser(ctx context.Context, key, email string) (userID string, err error)
	SendVerification(ctx context.Context, key, email, secret string) error
	SendReminder(ctx context.Context, key, email string) error
	Activate(ctx context.Context, key, userID string) error
}

// ErrInvalidEmail is returned for an input without email.
var ErrInvalidEmail = errors.New("onboarding: email is required")

// Workflow returns the onboarding workflow function over svc.
func Workflow(svc Services) func(ctx context.Context, in Input) (Result, error) {
	return func(ctx context.Context, in Input) (Result, error) {
		if in.Email == "" {
			return Result{}, ErrInvalidEmail
		}
		status := "saving email"
		weft.SetQuery(ctx, "status", func() (any, error) { return status, nil })
		if _, err := weft.Step(ctx, "save-email", func(ctx context.Context) (struct{}, error) {
			return struct{}{}, svc.SaveEmail(ctx, key(ctx), in.Email)
		}); err != nil {
			return Result{}, err
		}
		status = "registering"
		userID, err := weft.Step(ctx, "register-user", func(ctx context.Context) (string, error) {
			return svc.RegisterUser(ctx, key(ctx), in.Email)
		})
		if err != nil {
			return Result{}, err
		}
		secret := weft.Record(ctx, "secret", newSecret)
		status = "sending verification"
		if _, err := weft.Step(ctx, "send-verification", func(ctx context.Context) (struct{}, error) {
			return struct{}{}, svc.SendVerification(ctx, key(ctx), in.Email, secret)
		}); err != nil {
			return Result{}, err
		}
		status = "waiting for verification"
		verified, err := awaitVerification(ctx, secret, ReminderAfter)
		if err != nil {
			return Result{}, err
		}
		if !verified {
			status = "reminding"
			if _, err := weft.Step(ctx, "send-reminder", func(ctx context.Context) (struct{}, error) {
				return struct{}{}, svc.SendReminder(ctx, key(ctx), in.Email)
			}); err != nil {
				return Result{}, err
			}
			status = "waiting for verification after reminder"
			if verified, err = awaitVerification(ctx, secret, GiveUpAfter-ReminderAfter); err != nil {
				return Result{}, err
			}
			if !verified {
				status = "abandoned"
				return Result{UserID: userID, Status: "abandoned"}, nil
			}
		}
		status = "activating"
		if _, err := weft.Step(ctx, "activate", func(ctx context.Context) (struct{}, error) {
			return struct{}{}, svc.Activate(ctx, key(ctx), userID)
		}); err != nil {
			return Result{}, err
		}
		status = "active"
		return Result{UserID: userID, Status: "active"}, nil
	}
}

// awaitVerification waits up to d for a verification with the right secret;
// verifications with a wrong secret are ignored. It reports false on timeout.
func awaitVerification(ctx context.Context, secret string, d time.Duration) (bool, error) {
	deadline := weft.Now(ctx).Add(d)
	for {
		left := deadline.Sub(weft.Now(ctx))
		if left <= 0 {
			return false, nil
		}
		v, err := weft.Await[Verification](ctx, SignalVerified, left)
		if errors.Is(err, weft.ErrTimeout) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if v.Secret == secret {
			return true, nil
		}
	}
}

func key(ctx context.Context) string {
	info, _ := weft.StepInfoFrom(ctx)
	return info.IdempotencyKey
}

func newSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Register registers the workflow on e.
func Register(e *weft.Engine, svc Services) *weft.Workflow[Input, Result] {
	return weft.RegisterWorkflow(e, Name, Workflow(svc),
		weft.DeclareSignal[Verification](SignalVerified), weft.DeclareQuery[string]("status"))
}
