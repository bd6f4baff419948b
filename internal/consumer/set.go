package consumer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/weftrun/weft/internal/registry"
	"github.com/weftrun/weft/store"
)

// Set is an engine's consumers and projections.
type Set struct {
	env    Env
	byName registry.Registry[*Runner]

	mu     sync.Mutex // guards order and closed
	order  []*Runner  // by registration
	closed bool       // Start began: no more registrations

	running atomic.Pointer[[]*Runner] // the runners launched, for wake-ups
	gen     atomic.Uint64             // bumped on every append through this engine
	wg      sync.WaitGroup
}

// NewSet returns an empty set.
func NewSet(env Env) *Set { return &Set{env: env} }

// Add registers a consumer or projection. It fails on a name registered
// twice or a registration after Start (programming mistakes).
func (s *Set) Add(def Def) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("weft: consumer or projection %q registered after Start", def.Name)
	}
	r := newRunner(s, def)
	if !s.byName.Add(def.Name, r) {
		return fmt.Errorf("weft: consumer or projection %q registered twice", def.Name)
	}
	s.order = append(s.order, r)
	return nil
}

// Get returns the runner of a consumer registered on this engine, or nil.
func (s *Set) Get(name string) *Runner {
	r, _ := s.byName.Get(name)
	return r
}

func (s *Set) all() []*Runner {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Runner(nil), s.order...)
}

// Register registers the consumers in the store and sets up projections.
// It runs at Start, before anything executes.
func (s *Set) Register(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for _, r := range s.all() {
		if _, err := s.env.Store.RegisterConsumer(ctx, &store.RegisterConsumerParams{Name: r.def.Name, Settings: r.settings, Partitions: len(r.parts)}); err != nil {
			return err
		}
		if r.def.Setup != nil {
			if err := s.env.Store.Exec(ctx, r.def.Setup); err != nil {
				return fmt.Errorf("weft: setting up projection %q: %w", r.def.Name, err)
			}
		}
	}
	return nil
}

// Launch runs the consumers until ctx ends.
func (s *Set) Launch(ctx context.Context) {
	runners := s.all()
	s.running.Store(&runners)
	for _, r := range runners {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			r.loop(ctx)
		}()
	}
}

// Wait waits for the consumers to stop after the context of Launch ended,
// or until ctx ends.
func (s *Set) Wait(ctx context.Context) error {
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Appended wakes the consumers after an append through this engine.
func (s *Set) Appended() {
	s.gen.Add(1)
	if rs := s.running.Load(); rs != nil {
		for _, r := range *rs {
			r.wake()
		}
	}
}
