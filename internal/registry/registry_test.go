package registry

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestAddRefusesTwice: a name is registered once; the first value stays.
func TestAddRefusesTwice(t *testing.T) {
	var r Registry[int]
	if _, ok := r.Get("a"); ok || r.Len() != 0 || len(r.Names()) != 0 {
		t.Fatal("the zero Registry is not empty")
	}
	if !r.Add("a", 1) {
		t.Fatal("first Add refused")
	}
	if r.Add("a", 2) {
		t.Fatal("second Add of the same name accepted")
	}
	if v, ok := r.Get("a"); !ok || v != 1 {
		t.Fatalf("Get(a) = %d, %v; want 1, true", v, ok)
	}
}

// TestReadsDuringWrites: readers see every registration made before they
// read, without a lock, while writers add (run with -race).
func TestReadsDuringWrites(t *testing.T) {
	var r Registry[int]
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				name := fmt.Sprintf("w%d-%02d", w, i)
				if !r.Add(name, i) {
					t.Errorf("Add(%s) refused", name)
				}
				if v, ok := r.Get(name); !ok || v != i {
					t.Errorf("Get(%s) after Add = %d, %v", name, v, ok)
				}
				_ = r.Names()
			}
		})
	}
	wg.Wait()
	names := r.Names()
	if len(names) != 200 || r.Len() != 200 || !slices.IsSorted(names) {
		t.Fatalf("%d names (Len %d), sorted %v; want 200 sorted", len(names), r.Len(), slices.IsSorted(names))
	}
}
