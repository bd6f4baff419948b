//go:build unix

package api

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestReadSourceRefusesAFIFOWithoutBlocking checks that a FIFO named like a
// Go file inside the source roots is refused at once: opening it for
// reading would wait for a writer forever.
func TestReadSourceRefusesAFIFOWithoutBlocking(t *testing.T) {
	root := t.TempDir()
	fifo := filepath.Join(root, "pipe.go")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := readSource(fifo, []string{root})
		done <- err
	}()
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
}

// TestReadModuleSourceRefusesAFIFOWithoutBlocking is the same for a file
// named in module form, found under a source root.
func TestReadModuleSourceRefusesAFIFOWithoutBlocking(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "pipe.go"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := readModuleSource("example.com/shop/pipe.go", []sourceModule{{"example.com/shop", dirFS(root)}})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a FIFO was served as source")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO in module form blocked")
	}
}
