package proc

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/internal/testbin"
	"github.com/sirupsen/logrus"
)

// guard bounds every wait in these tests; it only catches hangs.
const guard = 60 * time.Second

func guardCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	t.Cleanup(cancel)
	return ctx
}

// logSink collects log entries; tests may look for messages in it.
type logSink struct {
	mu      sync.Mutex
	entries []string
}

func (s *logSink) Levels() []logrus.Level { return logrus.AllLevels }

func (s *logSink) Fire(e *logrus.Entry) error {
	s.mu.Lock()
	s.entries = append(s.entries, e.Message)
	s.mu.Unlock()
	return nil
}

func (s *logSink) contains(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		if bytes.Contains([]byte(e), []byte(sub)) {
			return true
		}
	}
	return false
}

func newLog() (*logrus.Logger, *logSink) {
	l := logrus.New()
	l.SetOutput(discardWriter{})
	l.SetLevel(logrus.DebugLevel)
	s := &logSink{}
	l.AddHook(s)
	return l, s
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func mockConfig(t testing.TB) Config {
	l, _ := newLog()
	return Config{
		Kind:      KindMock,
		Path:      testbin.MockCLI(t),
		Dir:       t.TempDir(),
		Home:      t.TempDir(),
		Log:       l,
		StopGrace: 300 * time.Millisecond,
		Env:       []string{"PATH=" + os.Getenv("PATH")},
	}
}

// startMock starts a process and stops it when the test ends.
func startMock(t testing.TB, cfg Config) *Process {
	t.Helper()
	p, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return p
}

// collect is a turn handler that copies what it sees.
type collect struct {
	mu     sync.Mutex
	events []Event
	deltas bytes.Buffer
}

func (c *collect) h(ev *Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := *ev
	e.Raw, e.Input = nil, append([]byte(nil), ev.Input...)
	c.events = append(c.events, e)
	if ev.Type == EventTextDelta {
		c.deltas.WriteString(ev.Text)
	}
}

func (c *collect) of(typ EventType) []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Event
	for _, e := range c.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func liveInGroup(pgid int) []int { return groupMembers(pgid) }

func processGone(t *testing.T, pid int) {
	t.Helper()
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("pid %d still in /proc after Stop", pid)
	}
	if live := liveInGroup(pid); len(live) > 0 {
		t.Errorf("group %d still has live members %v", pid, live)
	}
}

func waitDone(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(guard):
		t.Fatal("process did not finish")
	}
}
