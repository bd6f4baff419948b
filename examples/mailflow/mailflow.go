// Package mailflow is a drip-mail process manager written as a weft workflow:
// a welcome mail, a mail after one month, another after one year. The run
// sleeps durably between mails, holding no goroutine and no memory.
package mailflow

import (
	"context"
	"time"

	"github.com/weftrun/weft"
)

// Name is the workflow's registered name.
const Name = "mailflow"

// The waits between mails.
const (
	FirstWait  = 30 * 24 * time.Hour
	SecondWait = 335 * 24 * time.Hour
)

// Mail templates, in the order they are sent.
const (
	Welcome  = "welcome"
	OneMonth = "one-month"
	OneYear  = "one-year"
)

// Input starts a mail flow.
type Input struct {
	Email string `json:"email"`
}

// Result lists the mails sent.
type Result struct {
	Sent []string `json:"sent"`
}

// Mailer sends mails. key is stable per mail across retries and crashes.
type Mailer interface {
	Send(ctx context.Context, key, to, template string) error
}

// Workflow returns the mail-flow workflow function over m.
func Workflow(m Mailer) func(ctx context.Context, in Input) (Result, error) {
	return func(ctx context.Context, in Input) (Result, error) {
		var res Result
		send := func(template string) error {
			_, err := weft.Step(ctx, "send-"+template, func(ctx context.Context) (bool, error) {
				info, _ := weft.StepInfoFrom(ctx)
				return true, m.Send(ctx, info.IdempotencyKey, in.Email, template)
			})
			if err == nil {
				res.Sent = append(res.Sent, template)
			}
			return err
		}
		weft.SetQuery(ctx, "sent", func() (any, error) { return res.Sent, nil })
		if err := send(Welcome); err != nil {
			return res, err
		}
		if err := weft.Sleep(ctx, FirstWait); err != nil {
			return res, err
		}
		if err := send(OneMonth); err != nil {
			return res, err
		}
		if err := weft.Sleep(ctx, SecondWait); err != nil {
			return res, err
		}
		if err := send(OneYear); err != nil {
			return res, err
		}
		return res, nil
	}
}

// Register registers the workflow on e.
func Register(e *weft.Engine, m Mailer) *weft.Workflow[Input, Result] {
	return weft.RegisterWorkflow(e, Name, Workflow(m), weft.DeclareQuery[[]string]("sent"))
}
