package torture

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/weftrun/weft/internal/clustertest"
)

// cluster is the set of worker processes of one store: each worker is a
// slot ("w1", "w2", …) restarted as a new incarnation ("w1.3") after it is
// killed, so that every effect is attributed to the process that made it.
type cluster struct {
	kind, target string
	dir          string // where the workers' logs go

	workers []*worker

	mu        sync.Mutex
	disrupted map[string]bool // incarnations killed or paused
	restarts  []window        // when the server was down
}

// window is a span of time around a disruption of the server.
type window struct{ from, to time.Time }

// worker is one slot and its current process.
type worker struct {
	name string
	inc  int
	id   string // name.inc, the engine's WorkerID
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // its exit status, once done
	// stopped is set while the process is SIGSTOPped; cont resumes it.
	stopped bool
	cont    *time.Timer
}

func newCluster(kind, target, dir string, n int) *cluster {
	c := &cluster{kind: kind, target: target, dir: dir, disrupted: map[string]bool{}}
	for i := range n {
		c.workers = append(c.workers, &worker{name: fmt.Sprint("w", i+1)})
	}
	return c
}

// start starts a new incarnation of w and returns once it executes runs.
// A worker that fails to start (its store is not up yet, say) is tried
// again a few times.
func (c *cluster) start(w *worker) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = c.startOnce(w); err == nil {
			return nil
		}
		time.Sleep(time.Second)
	}
	return err
}

func (c *cluster) startOnce(w *worker) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	w.inc++
	w.id = fmt.Sprintf("%s.%d", w.name, w.inc)
	logf, err := os.Create(filepath.Join(c.dir, w.id+".log"))
	if err != nil {
		return err
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envWorker+"="+w.id, envStore+"="+c.kind, envTarget+"="+c.target)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	ready := clustertest.WatchReady(out)
	w.cmd, w.done, w.stopped = cmd, make(chan struct{}), false
	go func(w *worker, cmd *exec.Cmd, done chan struct{}) {
		err := cmd.Wait()
		c.mu.Lock()
		w.err = err
		c.mu.Unlock()
		close(done)
	}(w, cmd, w.done)
	select {
	case ok := <-ready:
		if ok {
			return nil
		}
		<-w.done
		return fmt.Errorf("worker %s exited before it was ready (%v); see %s", w.id, w.err, logf.Name())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-w.done
		return fmt.Errorf("worker %s not ready within 60s; see %s", w.id, logf.Name())
	}
}

// kill kills w with SIGKILL (paused or not) and waits until it is gone.
func (c *cluster) kill(w *worker) {
	c.mu.Lock()
	c.disrupted[w.id] = true
	if w.cont != nil {
		w.cont.Stop()
	}
	c.mu.Unlock()
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
}

// pause stops w with SIGSTOP and continues it after d, in the background.
func (c *cluster) pause(w *worker, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disrupted[w.id] = true
	if err := w.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return
	}
	w.stopped = true
	cmd := w.cmd
	w.cont = time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if w.cmd == cmd {
			_ = cmd.Process.Signal(syscall.SIGCONT)
			w.stopped = false
		}
	})
}

// paused reports whether w is stopped now.
func (c *cluster) paused(w *worker) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return w.stopped
}

// exited returns the workers that exited without being killed: a worker
// never exits by itself, so each is a failure.
func (c *cluster) exited() []string {
	var out []string
	for _, w := range c.workers {
		select {
		case <-w.done:
			c.mu.Lock()
			if !c.disrupted[w.id] {
				out = append(out, fmt.Sprintf("worker %s exited by itself (%v); see %s", w.id, w.err, filepath.Join(c.dir, w.id+".log")))
			}
			c.mu.Unlock()
		default:
		}
	}
	return out
}

// wasDisrupted reports whether incarnation id was killed or paused.
func (c *cluster) wasDisrupted(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.disrupted[id]
}

// serverDown records that the server was down (restarting) during w.
func (c *cluster) serverDown(w window) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.restarts = append(c.restarts, w)
}

// nearRestart reports whether the span from..to meets a server restart,
// widened by slack on each side.
func (c *cluster) nearRestart(from, to time.Time, slack time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.restarts {
		if !from.After(r.to.Add(slack)) && !to.Before(r.from.Add(-slack)) {
			return true
		}
	}
	return false
}

// stopAll ends every worker: continued, then killed, since what they leave
// behind is thrown away.
func (c *cluster) stopAll() {
	for _, w := range c.workers {
		if w.cmd == nil {
			continue
		}
		c.mu.Lock()
		if w.cont != nil {
			w.cont.Stop()
		}
		c.mu.Unlock()
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}
