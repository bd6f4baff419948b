package bench

import (
	"context"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store/sqlite"
)

// sqliteEngine opens the SQLite store at path and an engine on it with the
// default configuration, as most measurements start; closing the store is
// the caller's, once the engine is done with it.
func sqliteEngine(ctx context.Context, path string) (*weft.Engine, *sqlite.Store, error) {
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		return nil, nil, err
	}
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return eng, st, nil
}
