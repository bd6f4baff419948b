package transfer

import (
	"fmt"

	"github.com/weftrun/weft"
)

// WalletEntity is the entity type of wallets; their streams are "wallet:<id>".
const WalletEntity = "wallet"

// Money is an amount in cents.
type Money int64

func (m Money) String() string { return fmt.Sprintf("%d.%02d", m/100, m%100) }

// Wallet is a wallet's state: the fold of its events.
type Wallet struct {
	ID      string `json:"id"`
	Owner   string `json:"owner,omitempty"`
	Opened  bool   `json:"opened,omitempty"`
	Balance Money  `json:"balance"`
	// Frozen wallets take no deposit and no withdrawal.
	Frozen bool `json:"frozen,omitempty"`
}

// WalletCommand is a command to a wallet: exactly one field is set.
type WalletCommand struct {
	Open     *Open     `json:"open,omitempty"`
	Deposit  *Deposit  `json:"deposit,omitempty"`
	Withdraw *Withdraw `json:"withdraw,omitempty"`
	Freeze   *Freeze   `json:"freeze,omitempty"`
	Unfreeze *Unfreeze `json:"unfreeze,omitempty"`
}

// Open opens a wallet with an initial balance.
type Open struct {
	Owner   string `json:"owner"`
	Initial Money  `json:"initial"`
}

// Deposit credits a wallet. Transfer names the transfer it belongs to.
type Deposit struct {
	Amount   Money  `json:"amount"`
	Transfer string `json:"transfer,omitempty"`
	// Refund marks the compensation of a failed transfer.
	Refund bool `json:"refund,omitempty"`
}

// Withdraw debits a wallet; it fails with ErrInsufficientFunds rather than
// overdraw it.
type Withdraw struct {
	Amount   Money  `json:"amount"`
	Transfer string `json:"transfer,omitempty"`
}

// Freeze blocks a wallet: deposits and withdrawals fail with ErrFrozen.
type Freeze struct {
	Reason string `json:"reason"`
}

// Unfreeze unblocks a wallet.
type Unfreeze struct{}

// WalletEvent is a wallet's event.
type WalletEvent interface{ walletEvent() }

// WalletOpened records that a wallet was opened with an initial balance.
type WalletOpened struct {
	Owner   string `json:"owner"`
	Initial Money  `json:"initial"`
}

// MoneyDeposited records that a wallet was credited.
type MoneyDeposited struct {
	Amount   Money  `json:"amount"`
	Transfer string `json:"transfer,omitempty"`
	Refund   bool   `json:"refund,omitempty"`
}

// MoneyWithdrawn records that a wallet was debited.
type MoneyWithdrawn struct {
	Amount   Money  `json:"amount"`
	Transfer string `json:"transfer,omitempty"`
}

// WalletFrozen records that the wallet was blocked.
type WalletFrozen struct {
	Reason string `json:"reason"`
}

// WalletUnfrozen records that the wallet was unblocked.
type WalletUnfrozen struct{}

func (WalletOpened) walletEvent()   {}
func (MoneyDeposited) walletEvent() {}
func (MoneyWithdrawn) walletEvent() {}
func (WalletFrozen) walletEvent()   {}
func (WalletUnfrozen) walletEvent() {}

// Event type names, as stored in the log.
var (
	TypeOpened    = weft.EventName(WalletOpened{})
	TypeDeposited = weft.EventName(MoneyDeposited{})
	TypeWithdrawn = weft.EventName(MoneyWithdrawn{})
	TypeFrozen    = weft.EventName(WalletFrozen{})
	TypeUnfrozen  = weft.EventName(WalletUnfrozen{})
)

// EvolveWallet applies one event to a wallet's state.
func EvolveWallet(w Wallet, ev WalletEvent) Wallet {
	switch e := ev.(type) {
	case WalletOpened:
		w.Opened, w.Owner, w.Balance = true, e.Owner, e.Initial
	case MoneyDeposited:
		w.Balance += e.Amount
	case MoneyWithdrawn:
		w.Balance -= e.Amount
	case WalletFrozen:
		w.Frozen = true
	case WalletUnfrozen:
		w.Frozen = false
	}
	return w
}

// DecideWallet decides the events of cmd on wallet w, or rejects it with a
// *WalletError.
func DecideWallet(w Wallet, cmd WalletCommand) ([]WalletEvent, error) {
	reject := func(sentinel *WalletError, format string, args ...any) ([]WalletEvent, error) {
		return nil, &WalletError{Code: sentinel.Code, Wallet: w.ID, Detail: fmt.Sprintf(format, args...)}
	}
	if cmd.Open == nil && !w.Opened {
		return reject(ErrNoWallet, "the wallet is not open")
	}
	switch {
	case cmd.Open != nil:
		if w.Opened {
			return reject(ErrInvalidAmount, "the wallet is open already")
		}
		if cmd.Open.Initial < 0 {
			return reject(ErrInvalidAmount, "negative initial balance %s", cmd.Open.Initial)
		}
		return []WalletEvent{WalletOpened{Owner: cmd.Open.Owner, Initial: cmd.Open.Initial}}, nil
	case cmd.Deposit != nil:
		d := cmd.Deposit
		if d.Amount <= 0 {
			return reject(ErrInvalidAmount, "deposit of %s", d.Amount)
		}
		if w.Frozen {
			return reject(ErrFrozen, "cannot deposit %s", d.Amount)
		}
		return []WalletEvent{MoneyDeposited{Amount: d.Amount, Transfer: d.Transfer, Refund: d.Refund}}, nil
	case cmd.Withdraw != nil:
		d := cmd.Withdraw
		if d.Amount <= 0 {
			return reject(ErrInvalidAmount, "withdrawal of %s", d.Amount)
		}
		if w.Frozen {
			return reject(ErrFrozen, "cannot withdraw %s", d.Amount)
		}
		if d.Amount > w.Balance {
			return reject(ErrInsufficientFunds, "cannot withdraw %s, the balance is %s", d.Amount, w.Balance)
		}
		return []WalletEvent{MoneyWithdrawn{Amount: d.Amount, Transfer: d.Transfer}}, nil
	case cmd.Freeze != nil:
		if w.Frozen {
			return nil, nil
		}
		return []WalletEvent{WalletFrozen{Reason: cmd.Freeze.Reason}}, nil
	case cmd.Unfreeze != nil:
		if !w.Frozen {
			return nil, nil
		}
		return []WalletEvent{WalletUnfrozen{}}, nil
	}
	return reject(ErrInvalidAmount, "empty command")
}

// WalletDef is the wallet entity definition. Wallets live long, so a
// snapshot is kept every 100 events.
func WalletDef() weft.EntityDef[Wallet, WalletCommand, WalletEvent] {
	return weft.EntityDef[Wallet, WalletCommand, WalletEvent]{
		Name:          WalletEntity,
		Initial:       func(id string) Wallet { return Wallet{ID: id} },
		Decide:        DecideWallet,
		Evolve:        EvolveWallet,
		EventTypes:    []WalletEvent{WalletOpened{}, MoneyDeposited{}, MoneyWithdrawn{}, WalletFrozen{}, WalletUnfrozen{}},
		SnapshotEvery: 100,
	}
}

// WalletError is a wallet command the entity rejected. Code is stable and is
// what errors.Is compares, also after the error went through a journal (the
// type is registered on the engine by Register, with weft.RegisterError, as
// "transfer.WalletError").
type WalletError struct {
	Code   string `json:"code"`
	Wallet string `json:"wallet,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Wallet rejections, compared by Code.
var (
	// ErrNoWallet: the wallet was never opened.
	ErrNoWallet = &WalletError{Code: "no_wallet"}
	// ErrInsufficientFunds: a withdrawal above the balance.
	ErrInsufficientFunds = &WalletError{Code: "insufficient_funds"}
	// ErrFrozen: a deposit or withdrawal on a frozen wallet.
	ErrFrozen = &WalletError{Code: "frozen"}
	// ErrInvalidAmount: a zero or negative amount, or a malformed command.
	ErrInvalidAmount = &WalletError{Code: "invalid"}
)

func (e *WalletError) Error() string {
	msg := "wallet"
	if e.Wallet != "" {
		msg += " " + e.Wallet
	}
	msg += ": " + e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Is reports whether target is a *WalletError with the same Code.
func (e *WalletError) Is(target error) bool {
	t, ok := target.(*WalletError)
	return ok && t.Code == e.Code
}
