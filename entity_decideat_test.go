package weft_test

import (
	"errors"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
)

// A coupon that can be redeemed until its expiry: the decision depends on
// the time, which DecideAt takes from the engine's clock.
type coupon struct {
	Expires  time.Time
	Redeemed bool
}

type couponCmd struct {
	Issue  time.Duration // valid for
	Redeem bool
}

type couponEvent struct {
	Expires  time.Time
	Redeemed bool
}

var errCouponExpired = errors.New("coupon expired")

// TestEntityDecideAtUsesTheEngineClock moves the test clock past a
// coupon's expiry: the same command is accepted before and refused after,
// so DecideAt sees the engine's clock, not the wall clock.
func TestEntityDecideAtUsesTheEngineClock(t *testing.T) {
	t.Parallel()
	clock := wefttest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	eng := newEngineOn(t, openStore(t), clock)
	coupons := weft.RegisterEntity(eng, weft.EntityDef[coupon, couponCmd, couponEvent]{
		Name: "coupon",
		DecideAt: func(now time.Time, s coupon, c couponCmd) ([]couponEvent, error) {
			if c.Issue > 0 {
				return []couponEvent{{Expires: now.Add(c.Issue)}}, nil
			}
			if !now.Before(s.Expires) {
				return nil, errCouponExpired
			}
			return []couponEvent{{Redeemed: true}}, nil
		},
		Evolve: func(s coupon, e couponEvent) coupon {
			if e.Redeemed {
				s.Redeemed = true
			} else {
				s.Expires = e.Expires
			}
			return s
		},
	})
	if _, err := coupons.Send(ctx, "c1", couponCmd{Issue: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := coupons.Send(ctx, "c2", couponCmd{Issue: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	st, _, err := coupons.State(ctx, "c1")
	if err != nil || !st.Expires.Equal(clock.Now().Add(48*time.Hour)) {
		t.Fatalf("issued coupon %+v, %v; want it to expire 48h after the test clock's now", st, err)
	}
	clock.Advance(47 * time.Hour)
	if res, err := coupons.Send(ctx, "c1", couponCmd{Redeem: true}); err != nil || !res.State.Redeemed {
		t.Fatalf("redeem before expiry = %+v, %v", res, err)
	}
	clock.Advance(2 * time.Hour)
	if _, err := coupons.Send(ctx, "c2", couponCmd{Redeem: true}); !errors.Is(err, errCouponExpired) {
		t.Fatalf("redeem after expiry: error %v, want errCouponExpired", err)
	}
}

// An entity needs exactly one of Decide and DecideAt.
func TestEntityDecideAndDecideAtExcludeEachOther(t *testing.T) {
	t.Parallel()
	eng := newEngineOn(t, openStore(t), wefttest.NewClock(time.Time{}))
	defer func() {
		if recover() == nil {
			t.Fatal("RegisterEntity with both Decide and DecideAt did not panic")
		}
	}()
	weft.RegisterEntity(eng, weft.EntityDef[coupon, couponCmd, couponEvent]{
		Name:     "both",
		Decide:   func(coupon, couponCmd) ([]couponEvent, error) { return nil, nil },
		DecideAt: func(time.Time, coupon, couponCmd) ([]couponEvent, error) { return nil, nil },
		Evolve:   func(s coupon, _ couponEvent) coupon { return s },
	})
}
