// Package terminal is a chat adapter for a local terminal: type a line, see
// the reply stream. It exists so a newcomer can talk to the mock agent with
// `make run` and see one warm agent per thread.
package terminal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/hotline-dev/hotline/core"
)

// Engine is what the terminal needs of the core.
type Engine interface {
	Submit(ctx context.Context, in core.Inbound) error
	Command(ctx context.Context, key string, cmd core.Cmd) (string, error)
}

// Adapter reads lines from in and writes replies to out.
type Adapter struct {
	eng Engine
	in  io.Reader
	out *syncWriter

	mu      sync.Mutex
	thread  string
	pending chan bool // an approval waiting for y/n
	seq     int
}

// New returns a terminal adapter on thread "main".
func New(in io.Reader, out io.Writer, eng Engine) (*Adapter, error) {
	if in == nil || out == nil || eng == nil {
		return nil, fmt.Errorf("terminal: in, out and engine are required")
	}
	return &Adapter{eng: eng, in: in, out: &syncWriter{w: out}, thread: "main"}, nil
}

// Name implements the bridge's adapter interface.
func (a *Adapter) Name() string { return "terminal" }

// Ready is always nil: a terminal has no connection to lose.
func (a *Adapter) Ready() error { return nil }

// Key is the session key of a terminal thread.
func Key(thread string) string { return "terminal:local:tty:" + thread }

// Run reads lines until EOF, "/quit" or ctx ends.
func (a *Adapter) Run(ctx context.Context) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(a.in)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	a.out.printf("hotline terminal: thread %q. /thread NAME switches, /status /reset /stop /help, /quit ends.\n", a.thread)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			return err
		case line := <-lines:
			if !a.handle(ctx, line) {
				return nil
			}
		}
	}
}

// handle acts on one typed line; false means quit.
func (a *Adapter) handle(ctx context.Context, line string) bool {
	a.mu.Lock()
	pending := a.pending
	a.pending = nil
	thread := a.thread
	a.mu.Unlock()
	if pending != nil {
		pending <- strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "y")
		return true
	}
	text := strings.TrimSpace(line)
	switch {
	case text == "":
		return true
	case text == "/quit" || text == "/exit":
		return false
	case strings.HasPrefix(text, "/thread"):
		name := strings.TrimSpace(strings.TrimPrefix(text, "/thread"))
		if name == "" {
			a.out.printf("current thread: %s\n", thread)
			return true
		}
		a.mu.Lock()
		a.thread = name
		a.mu.Unlock()
		a.out.printf("switched to thread %q\n", name)
		return true
	}
	if cmd, ok := core.ParseCmd(text); ok && strings.HasPrefix(text, "/") {
		reply, err := a.eng.Command(ctx, Key(thread), cmd)
		if err != nil {
			reply = err.Error()
		}
		a.out.printf("%s\n", reply)
		return true
	}
	a.mu.Lock()
	a.seq++
	id := fmt.Sprintf("t%d", a.seq)
	a.mu.Unlock()
	r := &responder{a: a, thread: thread}
	if err := a.eng.Submit(ctx, core.Inbound{Key: Key(thread), Text: text, Author: "you", MessageID: id, Reply: r}); err != nil {
		a.out.printf("[%s] %s\n", thread, err)
	}
	return true
}

// ask registers an approval question answered by the next typed line.
func (a *Adapter) ask() chan bool {
	ch := make(chan bool, 1)
	a.mu.Lock()
	a.pending = ch
	a.mu.Unlock()
	return ch
}

func (a *Adapter) unask(ch chan bool) {
	a.mu.Lock()
	if a.pending == ch {
		a.pending = nil
	}
	a.mu.Unlock()
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format, args...)
}

// Notify prints a message for a thread outside any turn (core.Notifier).
func (a *Adapter) Notify(_ context.Context, key, _, text string) error {
	a.out.printf("[%s] note: %s\n", strings.TrimPrefix(key, "terminal:local:tty:"), text)
	return nil
}
