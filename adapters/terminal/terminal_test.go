package terminal_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hotline-dev/hotline/adapters/terminal"
	"github.com/hotline-dev/hotline/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *buffer) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *buffer) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

func (b *buffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(b.String(), want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %q in output:\n%s", want, b.String())
}

// Threads are separate conversations on separate warm agents; approvals
// are answered by the next typed line.
func TestTerminalThreadsAndApproval(t *testing.T) {
	r := testenv.Router(t)
	in, w := io.Pipe()
	out := &buffer{}
	a, err := terminal.New(in, out, r)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	say := func(s string) { io.WriteString(w, s+"\n") }
	say("hello")
	out.waitFor(t, "[main] ECHO: hello")
	say("/thread other")
	say("HISTORY")
	out.waitFor(t, "[other] HISTORY: \n")
	say("/thread main")
	say("HISTORY")
	out.waitFor(t, "[main] HISTORY: hello")
	say("TOOL_BASH: touch /tmp/hotline-terminal-test")
	out.waitFor(t, "approve? [y/N]")
	say("y")
	// "[main] " alone is in the output since the first reply: wait for the
	// approved command's result, so the turn is over before /status.
	out.waitFor(t, "[main] TOOL_RESULT: (Bash completed with no output)")
	say("/status")
	out.waitFor(t, "warm (pid")
	say("/quit")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after /quit")
	}
	cancel()
	w.Close()
}
