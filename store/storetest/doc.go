// Package storetest is the conformance suite of store.Store. Every store
// implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weft.db"), nil)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return st
//		})
//	}
//
// The suite checks the contract written in the comments of package store, plus
// the choices documented in internal/sqlstore where the contract leaves room
// (see each subtest). A store that exposes group-commit statistics through
// GroupCommitter is also checked to batch concurrent writes.
package storetest
