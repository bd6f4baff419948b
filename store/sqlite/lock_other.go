//go:build !unix

package sqlite

import (
	"fmt"
	"os"

	"github.com/weftrun/weft/weftype"
)

// lockFile creates path exclusively. Without flock the lock is not released
// when the process dies: delete the file by hand after a crash.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if os.IsExist(err) {
		return nil, fmt.Errorf("weft: executor lock %s: %w", path, weftype.ErrExecutorBusy)
	}
	if err != nil {
		return nil, fmt.Errorf("weft: executor lock: %w", err)
	}
	return f, nil
}

// unlockFile closes and removes the lock file.
func unlockFile(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}
