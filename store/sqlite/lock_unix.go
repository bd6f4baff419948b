//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/weftrun/weft/weftype"
)

// lockFile opens path and takes an exclusive, non-blocking flock on it. The
// kernel drops the lock when the file is closed or the process dies.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("weft: executor lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("weft: executor lock %s: %w", path, weftype.ErrExecutorBusy)
		}
		return nil, fmt.Errorf("weft: executor lock %s: %w", path, err)
	}
	return f, nil
}

// unlockFile releases the lock taken by lockFile and closes the file.
func unlockFile(f *os.File) {
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	_ = f.Close()
}
