// Package registry holds an engine's registrations by name (its workflows,
// entity types, consumers). Registrations are written rarely (mostly before
// Start) and read on every run and step, so a read takes no lock: writers
// copy the map and publish the copy.
package registry

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Registry maps names to values. The zero Registry is empty and ready.
type Registry[T any] struct {
	mu sync.Mutex // serializes writers
	m  atomic.Pointer[map[string]T]
}

// Add registers v under name. It reports false, changing nothing, when the
// name is taken.
func (r *Registry[T]) Add(name string, v T) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.All()
	if _, dup := old[name]; dup {
		return false
	}
	m := make(map[string]T, len(old)+1)
	for k, x := range old {
		m[k] = x
	}
	m[name] = v
	r.m.Store(&m)
	return true
}

// Get returns the value registered under name.
func (r *Registry[T]) Get(name string) (T, bool) {
	v, ok := r.All()[name]
	return v, ok
}

// All returns the registrations. The map must not be changed.
func (r *Registry[T]) All() map[string]T {
	if p := r.m.Load(); p != nil {
		return *p
	}
	return nil
}

// Names returns the registered names, sorted.
func (r *Registry[T]) Names() []string {
	m := r.All()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Len returns the number of registrations.
func (r *Registry[T]) Len() int { return len(r.All()) }
