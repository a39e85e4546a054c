package terminal

import (
	"context"
	"strings"

	"github.com/hotline-dev/hotline/core"
)

// responder prints one message's reply as it streams.
type responder struct {
	a       *Adapter
	thread  string
	started bool
}

func (r *responder) Queued(pos int) { r.a.out.printf("[%s] queued, position %d\n", r.thread, pos) }

func (r *responder) Started() {}

func (r *responder) Delta(text string) {
	if !r.started {
		r.started = true
		r.a.out.printf("[%s] ", r.thread)
	}
	r.a.out.printf("%s", text)
}

func (r *responder) ToolUse(tool, summary string) {
	r.a.out.printf("\n[%s] (tool %s: %s)\n", r.thread, tool, summary)
	r.started = false
}

func (r *responder) Notice(text string) { r.a.out.printf("\n[%s] note: %s\n", r.thread, text) }

func (r *responder) Approve(ctx context.Context, req core.Approval) (core.Decision, error) {
	ch := r.a.ask()
	defer r.a.unask(ch)
	r.a.out.printf("\n[%s] the agent wants to run %s: %s\n  %s\n  approve? [y/N] ", r.thread, req.Tool, req.Command, req.Reason)
	select {
	case ok := <-ch:
		return core.Decision{Allow: ok, By: "you"}, nil
	case <-ctx.Done():
		r.a.out.printf("\n[%s] no answer: denied\n", r.thread)
		return core.Decision{}, ctx.Err()
	}
}

func (r *responder) Done(res core.Result) {
	if !r.started && res.Text != "" {
		r.a.out.printf("[%s] %s", r.thread, res.Text)
	}
	switch {
	case res.IsError:
		r.a.out.printf("\n[%s] (agent error)\n", r.thread)
	case res.Interrupted:
		r.a.out.printf("\n[%s] (stopped)\n", r.thread)
	default:
		if !strings.HasSuffix(res.Text, "\n") {
			r.a.out.printf("\n")
		}
	}
}

func (r *responder) Failed(err error) { r.a.out.printf("\n[%s] error: %s\n", r.thread, err) }
