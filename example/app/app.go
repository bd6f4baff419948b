package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/weftrun/weft"
)

// A wallet: its state is the fold of its events.
type wallet struct {
	Balance int `json:"balance"`
}

// walletCommand deposits (Amount > 0) or withdraws (Amount < 0).
type walletCommand struct {
	Amount int `json:"amount"`
}

type walletChanged struct {
	Amount int `json:"amount"`
}

var errInsufficient = errors.New("insufficient funds")

func walletDef() weft.EntityDef[wallet, walletCommand, walletChanged] {
	return weft.EntityDef[wallet, walletCommand, walletChanged]{
		Name: "wallet",
		Decide: func(w wallet, c walletCommand) ([]walletChanged, error) {
			if w.Balance+c.Amount < 0 {
				return nil, errInsufficient
			}
			return []walletChanged{{Amount: c.Amount}}, nil
		},
		Evolve: func(w wallet, e walletChanged) wallet { w.Balance += e.Amount; return w },
	}
}

// PayoutRequest is the input of the payout workflow.
type PayoutRequest struct {
	Wallet string `json:"wallet"`
	Amount int    `json:"amount"`
}

// Approval is the payload of the payout's "approved" signal.
type Approval struct {
	By string `json:"by"`
}

// register registers the app's entity and workflow: a payout waits up to a
// day for an approval, then withdraws from the wallet.
func register(eng *weft.Engine, logger *slog.Logger) error {
	wallets := weft.RegisterEntity(eng, walletDef())
	weft.RegisterWorkflow(eng, "payout", func(ctx context.Context, in PayoutRequest) (string, error) {
		weft.SetQuery(ctx, "amount", func() (any, error) { return in.Amount, nil })
		approval, err := weft.Await[Approval](ctx, "approved", 24*time.Hour)
		if err != nil {
			return "", err
		}
		return weft.Step(ctx, "withdraw", func(ctx context.Context) (string, error) {
			info, _ := weft.StepInfoFrom(ctx)
			if _, err := wallets.Send(ctx, in.Wallet, walletCommand{Amount: -in.Amount}, weft.CommandID(info.IdempotencyKey)); err != nil {
				return "", weft.NonRetryable(err)
			}
			logger.Info("payout", "wallet", in.Wallet, "amount", in.Amount, "approved_by", approval.By)
			return "paid by " + approval.By, nil
		})
	})
	return nil
}
