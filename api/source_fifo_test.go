//go:build unix

package api

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSourceRefusesAFIFOWithoutBlocking checks that a FIFO named like a Go
// file inside the source roots is refused at once, whether the journal names
// it by absolute path or in module form: opening it for reading would wait
// for a writer forever.
func TestSourceRefusesAFIFOWithoutBlocking(t *testing.T) {
	for name, read := range map[string]func(root, fifo string) error{
		"absolute": func(root, fifo string) error {
			_, _, err := readSource(fifo, []string{root})
			return err
		},
		"module": func(root, _ string) error {
			_, _, err := readModuleSource("example.com/shop/pipe.go", []sourceModule{{"example.com/shop", dirFS(root)}})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			fifo := filepath.Join(root, "pipe.go")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			done := make(chan error, 1)
			go func() { done <- read(root, fifo) }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("a FIFO was served as source")
				}
			case <-time.After(10 * time.Second):
				// Unblock the open so that the goroutine ends.
				if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
					w.Close()
				}
				t.Fatal("reading a FIFO as source blocked")
			}
		})
	}
}
