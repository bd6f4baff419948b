// Package weft is a stand-in for the real package: the analyzer recognises
// its functions by import path and name.
package weft

import (
	"context"
	"time"
)

type Engine struct{}

type Workflow[I, O any] struct{}

type Tx interface{}

func Register[I, O any](e *Engine, name string, fn func(ctx context.Context, in I) (O, error)) *Workflow[I, O] {
	return nil
}

func RegisterWorkflow[I, O any](e *Engine, name string, fn func(ctx context.Context, in I) (O, error)) *Workflow[I, O] {
	return nil
}

func Step[T any](ctx context.Context, name string, fn func(ctx context.Context) (T, error)) (T, error) {
	return fn(ctx)
}

func TxStep[T any](ctx context.Context, name string, fn func(ctx context.Context, tx Tx) (T, error)) (T, error) {
	return fn(ctx, nil)
}

func Record[T any](ctx context.Context, name string, fn func() T) T { return fn() }

func Now(ctx context.Context) time.Time { return time.Time{} }

func Sleep(ctx context.Context, d time.Duration) error { return nil }
