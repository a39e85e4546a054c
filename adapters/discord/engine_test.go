package discord

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotline-dev/hotline/core"
)

// fakeEngine drives Responders the way core.Router does: one FIFO per key,
// Queued when a message waits, then Started, Deltas, Approve, Done. Its
// prompts mimic mockcli's: "ECHO: <text>" by default, "HUGE:<n>" a reply of
// n bytes with a code fence, "TOOL_BASH: <cmd>" asks for approval, "HOLD"
// waits until release is closed.
type fakeEngine struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	inbound  []core.Inbound
	queues   map[string]chan core.Inbound
	commands []string
	release  chan struct{}
	approval time.Duration
	outcomes []string // "approved by X" / "denied" / "error: ..." per approval
}

func newFakeEngine() *fakeEngine {
	ctx, cancel := context.WithCancel(context.Background())
	return &fakeEngine{ctx: ctx, cancel: cancel, queues: map[string]chan core.Inbound{},
		release: make(chan struct{}), approval: 30 * time.Second}
}

func (e *fakeEngine) Close() {
	e.cancel()
	e.wg.Wait()
}

func (e *fakeEngine) Submit(_ context.Context, in core.Inbound) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inbound = append(e.inbound, in)
	q, ok := e.queues[in.Key]
	if !ok {
		q = make(chan core.Inbound, 8)
		e.queues[in.Key] = q
		e.wg.Add(1)
		go e.serve(q)
	}
	if pos := len(q); pos > 0 {
		in.Reply.Queued(pos + 1)
	}
	select {
	case q <- in:
		return nil
	default:
		return core.ErrQueueFull
	}
}

func (e *fakeEngine) Command(_ context.Context, key string, cmd core.Cmd) (string, error) {
	e.mu.Lock()
	e.commands = append(e.commands, key+" "+string(cmd))
	e.mu.Unlock()
	if cmd == "bogus" {
		return "", core.ErrUnknownCmd
	}
	return "status of " + key + ": idle", nil
}

func (e *fakeEngine) Inbound() []core.Inbound {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]core.Inbound(nil), e.inbound...)
}

func (e *fakeEngine) Outcomes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.outcomes...)
}

func (e *fakeEngine) serve(q chan core.Inbound) {
	defer e.wg.Done()
	for {
		select {
		case <-e.ctx.Done():
			return
		case in := <-q:
			e.turn(in)
		}
	}
}

func (e *fakeEngine) turn(in core.Inbound) {
	r := in.Reply
	r.Started()
	text := in.Text
	switch {
	case strings.HasPrefix(text, "HUGE:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(text, "HUGE:"))
		reply := hugeReply(n)
		for i := 0; i < len(reply); i += 700 {
			r.Delta(reply[i:min(i+700, len(reply))])
		}
		r.Done(core.Result{Text: reply})
	case strings.HasPrefix(text, "TOOL_BASH: "):
		e.approve(in, strings.TrimPrefix(text, "TOOL_BASH: "))
	case strings.HasPrefix(text, "STREAM:"):
		// STREAM:<n> sends n words 10 ms apart, then the HUGE:2500 text, so
		// the stream edits its first message and then continues.
		n, _ := strconv.Atoi(strings.TrimPrefix(text, "STREAM:"))
		var sent strings.Builder
		for i := 0; i < n; i++ {
			w := "word" + strconv.Itoa(i) + " "
			sent.WriteString(w)
			r.Delta(w)
			time.Sleep(10 * time.Millisecond)
		}
		tail := hugeReply(2500)
		r.Delta(tail)
		r.Done(core.Result{Text: sent.String() + tail})
	case text == "HOLD":
		r.Delta("working")
		select {
		case <-e.release:
		case <-e.ctx.Done():
			r.Failed(core.ErrClosed)
			return
		}
		r.Done(core.Result{Text: "HOLD done"})
	case text == "FAIL":
		r.Failed(errFake)
	default:
		reply := "ECHO: " + text
		r.Delta(reply[:len(reply)/2])
		r.Delta(reply[len(reply)/2:])
		r.Done(core.Result{Text: reply})
	}
}

type fakeErr string

func (f fakeErr) Error() string { return string(f) }

const errFake = fakeErr("the agent crashed")

func (e *fakeEngine) approve(in core.Inbound, cmd string) {
	ctx, cancel := context.WithTimeout(e.ctx, e.approval)
	defer cancel()
	d, err := in.Reply.Approve(ctx, core.Approval{ID: "req-" + in.MessageID, Tool: "Bash", Command: cmd, Reason: "not read-only"})
	out := "denied"
	switch {
	case err != nil:
		out = "error: " + err.Error()
	case d.Allow:
		out = "approved by " + d.By
	}
	e.mu.Lock()
	e.outcomes = append(e.outcomes, out)
	e.mu.Unlock()
	in.Reply.Done(core.Result{Text: "tool " + out})
}

// hugeReply is n bytes: prose, then a Go code block, then prose.
func hugeReply(n int) string {
	var b strings.Builder
	b.WriteString("Here is the code:\n\n```go\n")
	for i := 0; b.Len() < n-40; i++ {
		b.WriteString("fmt.Println(\"line " + strconv.Itoa(i) + " of generated output\")\n")
	}
	b.WriteString("```\nThat is all.")
	return b.String()
}
