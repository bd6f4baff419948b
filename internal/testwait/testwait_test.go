package testwait

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestWaitReturnsOnceDone(t *testing.T) {
	n := 0
	err := Wait(context.Background(), time.Second, func() (bool, int, string) {
		n++
		return n == 3, 0, "three polls"
	})
	if err != nil || n != 3 {
		t.Fatalf("Wait = %v after %d polls, want nil after 3", err, n)
	}
}

func TestWaitFailsWithTheLastMessage(t *testing.T) {
	n := 0
	err := Wait(context.Background(), 20*time.Millisecond, func() (bool, int, string) {
		n++
		return false, 7, "never"
	})
	if err == nil || !strings.Contains(err.Error(), "no progress") || !strings.Contains(err.Error(), "never") {
		t.Fatalf("Wait = %v", err)
	}
}

// TestWaitFollowsProgress: a count that keeps moving outlasts the stall
// timeout many times over.
func TestWaitFollowsProgress(t *testing.T) {
	start := time.Now()
	n := 0
	err := Wait(context.Background(), 30*time.Millisecond, func() (bool, int, string) {
		n++
		return time.Since(start) > 150*time.Millisecond, n, "moving"
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWaitEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Wait(ctx, time.Hour, func() (bool, int, string) { return false, 0, "cancelled" })
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("Wait = %v", err)
	}
}
