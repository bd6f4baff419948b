package weft

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// ParkedEvents returns the parked events of a consumer ("" for all).
func (e *Engine) ParkedEvents(ctx context.Context, consumer string) ([]*weftype.ParkedEvent, error) {
	return e.store.ListParked(ctx, &store.ListParkedParams{Consumer: consumer})
}

// ParkedHistory returns the parked events of a consumer ("" for all) that
// were retried (RetryParked) or skipped (SkipParked), with their error, the
// outcome and the operator's reason, by consumer and oldest resolution first.
func (e *Engine) ParkedHistory(ctx context.Context, consumer string) ([]*weftype.ResolvedParkedEvent, error) {
	return e.store.ParkedHistory(ctx, &store.ParkedHistoryParams{Consumer: consumer})
}

// RetryParked handles a parked event again now, once, with the consumer (or
// projection) registered on this engine, and on success moves it from the
// parked events to the consumer's parked history. On failure it returns the
// handler's error and the event stays parked. A consumer that has no event
// parked at position fails with an error matching ErrParkedNotFound.
//
// For a projection, the view's writes and the removal from the parked
// events commit in one transaction: the event is applied to the view once,
// also across a crash or a concurrent retry. A plain consumer's handler is
// not transactional: the event is removed only after the handler returned
// successfully, so a crash (or a lost store) between the two leaves it
// parked, and a later retry runs the handler again. Make such handlers
// idempotent, as for at-least-once delivery.
func (e *Engine) RetryParked(ctx context.Context, consumer string, position int64) error {
	r := e.ev.consumers.Get(consumer)
	if r == nil {
		return fmt.Errorf("weft: retry parked event: consumer %q is not registered on this engine: %w", consumer, ErrConsumerNotFound)
	}
	if err := e.checkParked(ctx, consumer, position); err != nil {
		return fmt.Errorf("weft: retry parked event: %w", err)
	}
	evs, err := e.store.ReadAll(ctx, &store.ReadAllParams{AfterPosition: position - 1, Limit: 1})
	if err != nil {
		return err
	}
	if len(evs) == 0 || evs[0].Position != position {
		return fmt.Errorf("weft: retry parked event: no event at position %d", position)
	}
	ev := evs[0]
	resolve := &store.ResolveParkedParams{Consumer: consumer, Position: position, Outcome: weftype.ParkedRetried, Time: e.clock.Now()}
	if r.IsProjection() {
		resolve.Apply = func(ctx context.Context, tx store.Tx) error { return r.Apply(ctx, tx, ev) }
	} else if err := r.Handle(ctx, ev); err != nil {
		return err
	}
	return e.store.ResolveParked(ctx, resolve)
}

// SkipParked gives up on a parked event for good, so that an operator can
// move past a poison event: it moves the event from the consumer's parked
// events to its parked history, with its last error and reason, which is
// required (the record says why the event was never handled). The handler
// does not run, and the consumer need not be registered on this engine. A
// consumer that has no event parked at position fails with an error
// matching ErrParkedNotFound.
func (e *Engine) SkipParked(ctx context.Context, consumer string, position int64, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return &InputError{What: "reason to skip a parked event", Err: errors.New("must not be empty")}
	}
	return e.store.ResolveParked(ctx, &store.ResolveParkedParams{
		Consumer: consumer, Position: position, Outcome: weftype.ParkedSkipped, Reason: reason, Time: e.clock.Now(),
	})
}

// checkParked fails with ErrParkedNotFound unless consumer has an event
// parked at position.
func (e *Engine) checkParked(ctx context.Context, consumer string, position int64) error {
	ps, err := e.store.ListParked(ctx, &store.ListParkedParams{Consumer: consumer})
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Position == position {
			return nil
		}
	}
	return fmt.Errorf("consumer %q, position %d: %w", consumer, position, ErrParkedNotFound)
}
