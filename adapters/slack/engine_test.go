package slack

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotline-dev/hotline/core"
)

// scriptEngine drives Responders the way core does (per-key FIFO, Queued
// while busy, one turn at a time) with scripted replies, so adapter
// mechanics can be tested step by step without timing.
type scriptEngine struct {
	mu      sync.Mutex
	queues  map[string][]core.Inbound
	busy    map[string]bool
	subs    []core.Inbound
	cmds    []string
	wg      sync.WaitGroup
	gates   map[string]chan struct{} // prompt -> released by the test
	timeout time.Duration            // approval timeout
	full    bool                     // refuse with ErrQueueFull
}

func newScriptEngine() *scriptEngine {
	return &scriptEngine{queues: map[string][]core.Inbound{}, busy: map[string]bool{},
		gates: map[string]chan struct{}{}, timeout: 20 * time.Second}
}

// gate makes the turn for prompt pause after its first delta until release.
func (e *scriptEngine) gate(prompt string) (release func()) {
	ch := make(chan struct{})
	e.mu.Lock()
	e.gates[prompt] = ch
	e.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (e *scriptEngine) Submit(ctx context.Context, in core.Inbound) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.full {
		return core.ErrQueueFull
	}
	e.subs = append(e.subs, in)
	e.queues[in.Key] = append(e.queues[in.Key], in)
	if e.busy[in.Key] {
		in.Reply.Queued(len(e.queues[in.Key]))
		return nil
	}
	e.busy[in.Key] = true
	e.wg.Add(1)
	go e.work(in.Key)
	return nil
}

func (e *scriptEngine) Command(ctx context.Context, key string, cmd core.Cmd) (string, error) {
	e.mu.Lock()
	e.cmds = append(e.cmds, string(cmd)+" "+key)
	e.mu.Unlock()
	return "did " + string(cmd), nil
}

func (e *scriptEngine) submitted() []core.Inbound {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]core.Inbound(nil), e.subs...)
}

func (e *scriptEngine) commands() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.cmds...)
}

func (e *scriptEngine) work(key string) {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		q := e.queues[key]
		if len(q) == 0 {
			e.busy[key] = false
			e.mu.Unlock()
			return
		}
		in := q[0]
		e.queues[key] = q[1:]
		gate := e.gates[in.Text]
		e.mu.Unlock()
		e.turn(in, gate)
	}
}

// turn plays one scripted turn: "HUGE:<n>" a long reply, "TOOL_BASH: cmd"
// an approval, "FAIL" a failure; anything else echoes in three deltas.
func (e *scriptEngine) turn(in core.Inbound, gate chan struct{}) {
	r := in.Reply
	r.Started()
	switch {
	case strings.HasPrefix(in.Text, "HUGE:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(in.Text, "HUGE:"))
		text := hugeText(n)
		for i := 0; i < len(text); i += 4096 {
			r.Delta(text[i:min(i+4096, len(text))])
		}
		r.Done(core.Result{Text: text})
	case strings.HasPrefix(in.Text, "TOOL_BASH: "):
		cmd := strings.TrimPrefix(in.Text, "TOOL_BASH: ")
		ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
		if gate != nil { // the test withdraws the request (control_cancel_request)
			go func() { <-gate; cancel() }()
		}
		d, err := r.Approve(ctx, core.Approval{ID: "req-" + in.MessageID, Tool: "Bash", Command: cmd})
		cancel()
		switch {
		case err != nil:
			r.Done(core.Result{Text: "no decision: " + err.Error()})
		case d.Allow:
			r.Done(core.Result{Text: "approved by " + d.By})
		default:
			r.Done(core.Result{Text: "denied by " + d.By})
		}
	case in.Text == "EMPTY":
		r.Done(core.Result{})
	case in.Text == "APIERROR":
		r.Done(core.Result{Text: "API Error: 500", IsError: true})
	case in.Text == "FAIL":
		r.Failed(fmt.Errorf("the agent crashed"))
	default:
		final := "ECHO: " + in.Text
		r.Delta(final[:len(final)/2])
		if gate != nil {
			<-gate
		}
		r.Delta(final[len(final)/2:])
		r.Done(core.Result{Text: final})
	}
}

func (e *scriptEngine) wait() { e.wg.Wait() }

// hugeText is n bytes of paragraphs with a fenced code block in the middle.
func hugeText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		switch {
		case i%40 == 20:
			b.WriteString("```go\nfunc f() {\n\treturn\n}\n```\n\n")
		default:
			fmt.Fprintf(&b, "Paragraph %d: the quick brown fox jumps over the lazy dog & <friends>.\n\n", i)
		}
	}
	return b.String()[:n]
}
