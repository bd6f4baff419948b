// Package transfer is a money-transfer saga written as a weft workflow over
// event-sourced wallet entities, with compensation.
//
// A wallet is an entity (streams "wallet:<id>") whose balance is the fold of
// its events; it refuses to overdraw and, while frozen, takes no deposit. The
// transfer workflow moves an amount from wallet A to wallet B:
//
//  1. A transfer above the limit (Options.Limit, 1,000.00 by default) waits
//     for a person's acceptance, the "acceptance" signal, for up to 8 hours;
//     without it the transfer ends as "timed-out", refused as "refused", and
//     no money moves.
//  2. The "withdraw" step sends Withdraw to A. A withdrawal above A's balance
//     fails the transfer with an error matching ErrInsufficientFunds.
//  3. The "deposit" step sends Deposit to B; it is retried twice (three
//     attempts, a minute apart and then two). If it still fails, the workflow
//     compensates: the "refund" step deposits the amount back to A, and the
//     transfer ends as "compensated".
//  4. The "record" step is a transactional step (weft.TxStep): it writes the
//     transfer's outcome into the transfers table in the same transaction
//     that journals the step, so the row is written exactly once.
//
// Each wallet command is sent from inside a step with the step's idempotency
// key as its command ID (weft.CommandID): when a step runs again because the
// process died after the command and before the step was journaled, the
// wallet recognises the command and applies nothing, so A is never debited
// twice. The balances view (a projection) shows every wallet's balance,
// written exactly once per event.
//
// It is an acceptance test of weft: its tests drive each outcome with the
// test clock and crash the engine before and after the withdraw step is
// journaled.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
)

// Name is the transfer workflow's registered name.
const Name = "transfer"

// SignalAcceptance is the signal that accepts or refuses a large transfer,
// with an Acceptance.
const SignalAcceptance = "acceptance"

// AcceptanceTimeout is how long a large transfer waits for acceptance.
const AcceptanceTimeout = 8 * time.Hour

// Outcomes of a transfer (Result.Status).
const (
	Completed   = "completed"
	Compensated = "compensated"
	TimedOut    = "timed-out"
	Refused     = "refused"
)

// Input starts a transfer.
type Input struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Amount Money  `json:"amount"`
}

// Acceptance is the payload of SignalAcceptance.
type Acceptance struct {
	Accepted bool   `json:"accepted"`
	By       string `json:"by"`
}

// Result is how a transfer ended.
type Result struct {
	Status string `json:"status"`
	// AcceptedBy is who accepted a large transfer.
	AcceptedBy string `json:"accepted_by,omitempty"`
	// Reason is why the deposit failed, for a compensated transfer.
	Reason string `json:"reason,omitempty"`
}

// ErrInvalidTransfer is the error of a transfer with a bad input (no amount,
// the same wallet twice); registered as "transfer.InvalidTransfer".
var ErrInvalidTransfer = errors.New("transfer: invalid transfer")

// Options tune the transfer workflow. The zero value is the documented
// behaviour.
type Options struct {
	// Limit is the amount above which a transfer needs acceptance. Defaults
	// to 1,000.00.
	Limit Money
	// DepositRetry is the deposit step's retry policy. Defaults to three
	// attempts (two retries), a minute apart and then two minutes (the zero
	// RetryPolicy stands for it).
	DepositRetry weft.RetryPolicy
}

// Transfers is the handle Register returns.
type Transfers struct {
	// Wallets takes the wallet commands.
	Wallets *weft.Entity[Wallet, WalletCommand, WalletEvent]
	// Workflow starts transfers.
	Workflow *weft.Workflow[Input, Result]

	eng  *weft.Engine
	opts Options
}

// Register registers the wallet entity, the transfer workflow and the
// balances view on e. The zero Options are the defaults.
func Register(e *weft.Engine, opts Options) *Transfers {
	t := &Transfers{eng: e, opts: opts}
	if t.opts.Limit == 0 {
		t.opts.Limit = 1000_00
	}
	if t.opts.DepositRetry == (weft.RetryPolicy{}) {
		t.opts.DepositRetry = weft.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Minute, Multiplier: 2}
	}
	weft.RegisterError[*WalletError](e, "transfer.WalletError")
	weft.RegisterSentinel(e, "transfer.InvalidTransfer", ErrInvalidTransfer)
	t.Wallets = weft.RegisterEntity(e, WalletDef())
	t.Workflow = weft.RegisterWorkflow(e, Name, t.run,
		weft.DeclareSignal[Acceptance](SignalAcceptance), weft.DeclareQuery[string]("status"))
	registerBalances(e)
	return t
}

// run is the transfer workflow.
func (t *Transfers) run(ctx context.Context, in Input) (Result, error) {
	if in.Amount <= 0 || in.From == "" || in.To == "" || in.From == in.To {
		return Result{}, fmt.Errorf("%w: %s from %q to %q", ErrInvalidTransfer, in.Amount, in.From, in.To)
	}
	info, _ := weft.Info(ctx)
	id := info.RunID
	status := "starting"
	weft.SetQuery(ctx, "status", func() (any, error) { return status, nil })

	var res Result
	if in.Amount > t.opts.Limit {
		status = "waiting for acceptance"
		a, err := weft.Await[Acceptance](ctx, SignalAcceptance, AcceptanceTimeout)
		switch {
		case errors.Is(err, weft.ErrTimeout):
			return t.record(ctx, id, in, Result{Status: TimedOut})
		case err != nil:
			return Result{}, err
		case !a.Accepted:
			return t.record(ctx, id, in, Result{Status: Refused})
		}
		res.AcceptedBy = a.By
	}

	status = "withdrawing"
	if _, err := weft.Step(ctx, "withdraw", func(ctx context.Context) (int64, error) {
		return t.send(ctx, in.From, WalletCommand{Withdraw: &Withdraw{Amount: in.Amount, Transfer: id}})
	}); err != nil {
		return Result{}, err // nothing moved
	}

	status = "depositing"
	_, depositErr := weft.Step(ctx, "deposit", func(ctx context.Context) (int64, error) {
		return t.send(ctx, in.To, WalletCommand{Deposit: &Deposit{Amount: in.Amount, Transfer: id}})
	}, weft.Retry(t.opts.DepositRetry))
	if depositErr != nil {
		// Compensate: give A its money back. The refund retries for a long
		// while; if it still fails, the run fails and an operator steps in.
		status = "refunding"
		if _, err := weft.Step(ctx, "refund", func(ctx context.Context) (int64, error) {
			return t.send(ctx, in.From, WalletCommand{Deposit: &Deposit{Amount: in.Amount, Transfer: id, Refund: true}})
		}, weft.Retry(weft.RetryPolicy{MaxAttempts: 20, InitialInterval: time.Minute, Multiplier: 2, MaxInterval: time.Hour})); err != nil {
			return Result{}, fmt.Errorf("transfer %s: refund of %s to %s failed after the deposit failed (%v): %w", id, in.Amount, in.From, depositErr, err)
		}
		res.Status, res.Reason = Compensated, depositErr.Error()
		var se *weft.StepError
		if errors.As(depositErr, &se) {
			res.Reason = se.Err.Error()
		}
		return t.record(ctx, id, in, res)
	}
	res.Status = Completed
	status = Completed
	return t.record(ctx, id, in, res)
}

// send sends a wallet command with the step's idempotency key as its command
// ID and returns the wallet's version. A rejection other than a frozen
// wallet will not change by retrying, so it is not retried.
func (t *Transfers) send(ctx context.Context, wallet string, cmd WalletCommand) (int64, error) {
	info, _ := weft.StepInfoFrom(ctx)
	res, err := t.Wallets.Send(ctx, wallet, cmd, weft.CommandID(info.IdempotencyKey))
	var we *WalletError
	if errors.As(err, &we) && !errors.Is(err, ErrFrozen) {
		return 0, weft.NonRetryable(err)
	}
	if err != nil {
		return 0, err
	}
	return res.Version, nil
}

// record writes the transfer's outcome into the transfers table, in the
// transaction that journals the step: exactly once.
func (t *Transfers) record(ctx context.Context, id string, in Input, res Result) (Result, error) {
	_, err := weft.TxStep(ctx, "record", func(ctx context.Context, tx store.Tx) (struct{}, error) {
		if _, err := tx.ExecContext(ctx, createTransfers); err != nil {
			return struct{}{}, err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO transfers (id, from_wallet, to_wallet, amount, status) VALUES (?, ?, ?, ?, ?)`,
			id, in.From, in.To, int64(in.Amount), res.Status)
		return struct{}{}, err
	})
	return res, err
}

const createTransfers = `CREATE TABLE IF NOT EXISTS transfers (
	id          TEXT PRIMARY KEY,
	from_wallet TEXT NOT NULL,
	to_wallet   TEXT NOT NULL,
	amount      BIGINT NOT NULL,
	status      TEXT NOT NULL)`

// Recorded returns the outcomes recorded for transfer id in the transfers
// table: one, once the transfer ended.
func (t *Transfers) Recorded(ctx context.Context, id string) ([]string, error) {
	var out []string
	err := t.eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT status FROM transfers WHERE id = ?`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	return out, err
}
