package proc

import (
	"errors"
	"testing"
	"time"
)

// More agents than one epoll wait returns die at once: every exit is seen,
// each Turn-less process reports ErrExited, and the watcher's goroutine ends
// when no process is left.
func TestExitWatcherManyExitsAtOnce(t *testing.T) {
	const n = 40 // above the 32 events one EpollWait returns
	procs := make([]*Process, n)
	for i := range procs {
		procs[i] = startMock(t, mockConfig(t))
	}
	exits.mu.Lock()
	watched, running := len(exits.procs), exits.running
	exits.mu.Unlock()
	if watched < n || !running {
		t.Fatalf("watcher has %d processes (running %v), want at least %d", watched, running, n)
	}
	for _, p := range procs {
		p.Kill()
	}
	for i, p := range procs {
		select {
		case <-p.Done():
		case <-time.After(guard):
			t.Fatalf("process %d: exit not noticed", i)
		}
		if err := p.exitError(); !errors.Is(err, ErrExited) {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	deadline := time.Now().Add(guard)
	for {
		exits.mu.Lock()
		watched, running = len(exits.procs), exits.running
		exits.mu.Unlock()
		if watched == 0 && !running {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("watcher still has %d processes (running %v) after every exit", watched, running)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
