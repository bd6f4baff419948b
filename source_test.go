package weft_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
)

// listSource is a source in memory: it hands out its messages one at a
// time and records the acks.
type listSource struct {
	mu     sync.Mutex
	msgs   []weft.SourceMessage
	next   int
	acked  []string
	closed bool
}

func (s *listSource) Next(ctx context.Context) ([]weft.SourceMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next < len(s.msgs) {
		s.next++
		return s.msgs[s.next-1 : s.next], nil
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	return nil, ctx.Err()
}

func (s *listSource) Ack(_ context.Context, m weft.SourceMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = append(s.acked, m.ID)
	return nil
}

func (s *listSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *listSource) state() ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acked), s.closed
}

func newListSource(ids ...string) *listSource {
	s := &listSource{}
	for _, id := range ids {
		s.msgs = append(s.msgs, weft.SourceMessage{ID: id, Data: []byte(id)})
	}
	return s
}

func TestSourceConsumerAcksAfterTheHandlerAndKeepsOrder(t *testing.T) {
	t.Parallel()
	eng, err := weft.New(weft.Config{Store: outboxStores(t)["sqlite"]()})
	if err != nil {
		t.Fatal(err)
	}
	src := newListSource("1", "2", "3", "4")
	var mu sync.Mutex
	var handled []string
	var parked []string
	fails := map[string]int{"2": 2, "3": 100}
	weft.RegisterSourceConsumer(eng, weft.SourceConsumerDef{
		Name: "in", Source: src,
		Retry: weft.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond},
		Handle: func(ctx context.Context, m weft.SourceMessage) error {
			mu.Lock()
			defer mu.Unlock()
			// Nothing of this message is acked while its handler runs.
			if acked, _ := src.state(); slices.Contains(acked, m.ID) {
				t.Errorf("message %s acked before its handler returned", m.ID)
			}
			handled = append(handled, m.ID)
			if fails[m.ID] > 0 {
				fails[m.ID]--
				return fmt.Errorf("handler of %s failed", m.ID)
			}
			if m.ID == "4" {
				panic("a panic is an error too")
			}
			return nil
		},
		OnFailure: func(ctx context.Context, m weft.SourceMessage, err error) error {
			mu.Lock()
			defer mu.Unlock()
			parked = append(parked, m.ID+": "+err.Error())
			return nil
		},
	})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, func() (bool, string) {
		acked, _ := src.state()
		return len(acked) == 4, fmt.Sprintf("acked %v", acked)
	})
	if err := eng.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	acked, closed := src.state()
	if !slices.Equal(acked, []string{"1", "2", "3", "4"}) || !closed {
		t.Errorf("acked %v (closed %v), want 1 2 3 4 in order and the source closed", acked, closed)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"1", "2", "2", "2", "3", "3", "3", "4", "4", "4"}; !slices.Equal(handled, want) {
		t.Errorf("handled %v, want %v", handled, want)
	}
	if len(parked) != 2 || parked[0] != "3: handler of 3 failed" {
		t.Errorf("OnFailure got %q, want 3 and 4 after their attempts", parked)
	}
	s := eng.SourceConsumers()
	if len(s) != 1 || s[0].Handled != 4 || s[0].Failures != 0 {
		t.Errorf("status = %+v", s)
	}
}

func TestSourceConsumerWithoutOnFailureHoldsTheMessage(t *testing.T) {
	t.Parallel()
	eng, err := weft.New(weft.Config{Store: outboxStores(t)["sqlite"]()})
	if err != nil {
		t.Fatal(err)
	}
	src := newListSource("1", "2")
	var mu sync.Mutex
	attempts := 0
	weft.RegisterSourceConsumer(eng, weft.SourceConsumerDef{
		Name: "in", Source: src,
		Retry: weft.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Millisecond},
		Handle: func(ctx context.Context, m weft.SourceMessage) error {
			mu.Lock()
			defer mu.Unlock()
			if m.ID != "1" {
				t.Errorf("message %s handled while 1 fails", m.ID)
			}
			attempts++
			return errors.New("down")
		},
	})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Well past MaxAttempts, the message is still retried and never acked.
	testwait.Until(t, 10*time.Second, func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return attempts >= 6, fmt.Sprintf("%d attempts", attempts)
	})
	if err := eng.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if acked, _ := src.state(); len(acked) != 0 {
		t.Errorf("acked %v, want nothing", acked)
	}
	if s := eng.SourceConsumers(); s[0].Failures < 6 || s[0].LastError == "" {
		t.Errorf("status = %+v, want the failures counted with the error", s[0])
	}
}
