package slack

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/adapters/reply"
	"github.com/hotline-dev/hotline/core"
)

// Reaction names for the message's life.
const (
	reactQueued  = "hourglass_flowing_sand"
	reactWorking = "eyes"
	reactDone    = "white_check_mark"
	reactError   = "x"
)

const outboxDepth = 32

// responder carries one message's life back into its thread. Marker and
// notice changes go through a per-message outbox goroutine so that the
// callbacks core must not block on return at once, yet reach Slack in order.
type responder struct {
	a                           *Adapter
	key, channel, thread, msgTS string
	log                         logrus.FieldLogger
	stream                      *reply.Stream

	mu      sync.Mutex
	outbox  chan func(context.Context)
	stopped chan struct{}
	ended   bool // Done/Failed ran: no outbox may start again
	queued  bool
}

func (a *Adapter) newResponder(key, channel, thread, msgTS string) *responder {
	r := &responder{a: a, key: key, channel: channel, thread: thread, msgTS: msgTS,
		log: a.log.WithFields(logrus.Fields{"session_key": key, "channel": channel})}
	r.stream = reply.NewStream(&poster{a: a, key: key, channel: channel, thread: thread},
		reply.Options{Limit: textLimit, Interval: a.cfg.EditInterval, Log: r.log})
	return r
}

// send queues op on the outbox, starting its goroutine on first use.
func (r *responder) send(op func(context.Context)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		r.log.Warn("slack: responder called after the turn ended; ignored")
		return
	}
	if r.outbox == nil {
		r.outbox, r.stopped = make(chan func(context.Context), outboxDepth), make(chan struct{})
		go r.drain(r.outbox, r.stopped)
	}
	select {
	case r.outbox <- op:
	default:
		r.log.Warn("slack: outbox full; dropping a status update")
	}
}

func (r *responder) drain(ops <-chan func(context.Context), stopped chan<- struct{}) {
	defer close(stopped)
	for op := range ops {
		ctx, cancel := r.a.apiCtx()
		op(ctx)
		cancel()
	}
}

// flush stops the outbox after its queued ops ran.
func (r *responder) flush() {
	r.mu.Lock()
	ops, stopped := r.outbox, r.stopped
	r.outbox, r.ended = nil, true
	r.mu.Unlock()
	if ops != nil {
		close(ops)
		<-stopped
	}
}

func (r *responder) Queued(position int) {
	r.queued = true
	r.send(func(ctx context.Context) { r.a.react(ctx, r.channel, r.msgTS, reactQueued) })
}

func (r *responder) Started() {
	queued := r.queued
	r.send(func(ctx context.Context) {
		if queued {
			r.a.unreact(ctx, r.channel, r.msgTS, reactQueued)
		}
		r.a.react(ctx, r.channel, r.msgTS, reactWorking)
	})
}

func (r *responder) Delta(text string) { r.stream.Append(text) }

// ToolUse is logged only: a status line per tool call is noise in a thread,
// and approvals (the calls that matter) get their own message.
func (r *responder) ToolUse(tool, summary string) {
	r.log.WithField("tool", tool).Debug("slack: agent uses a tool")
}

func (r *responder) Notice(text string) {
	r.send(func(ctx context.Context) { r.a.postText(ctx, r.channel, r.thread, text) })
}

func (r *responder) Done(res core.Result) {
	ctx, cancel := context.WithTimeout(r.a.workCtx, finishBudget)
	defer cancel()
	if err := r.stream.Finish(ctx, res.Text); err != nil {
		r.log.WithError(err).Error("slack: final reply not delivered")
	}
	if strings.TrimSpace(res.Text) == "" && len(r.stream.IDs()) == 0 {
		// Slack rejects empty messages; say so rather than stay silent.
		pctx, cancel := r.a.apiCtx()
		r.a.postText(pctx, r.channel, r.thread, "(the agent finished without a reply)")
		cancel()
	}
	marker := reactDone
	if res.IsError {
		marker = reactError
	}
	r.finishMarkers(marker)
}

func (r *responder) Failed(err error) {
	r.stream.Abort()
	r.Notice(err.Error())
	r.finishMarkers(reactError)
}

// finishMarkers waits for queued status updates, then swaps the working
// marker for the final one.
func (r *responder) finishMarkers(marker string) {
	queued := r.queued
	r.send(func(ctx context.Context) {
		if queued {
			r.a.unreact(ctx, r.channel, r.msgTS, reactQueued)
		}
		r.a.unreact(ctx, r.channel, r.msgTS, reactWorking)
		r.a.react(ctx, r.channel, r.msgTS, marker)
	})
	r.flush()
}

// poster implements reply.Poster over chat.postMessage / chat.update in one thread.
type poster struct {
	a                    *Adapter
	key, channel, thread string
}

func (p *poster) Post(ctx context.Context, text string) (string, error) {
	_, ts, err := p.a.api.PostMessageContext(ctx, p.channel, msgOptions(text, p.thread)...)
	if err != nil {
		return "", rateLimit(err)
	}
	p.a.threads.Put(p.key, struct{}{})
	return ts, nil
}

func (p *poster) Edit(ctx context.Context, id, text string) error {
	_, _, _, err := p.a.api.UpdateMessageContext(ctx, p.channel, id, msgOptions(text, "")...)
	return rateLimit(err)
}

// msgOptions sends the reply in the text field with &, < and > escaped, so
// that Slack displays it exactly as the agent wrote it (and agent output
// cannot ping <!here> or forge links), plus, when it fits a section block,
// a mrkdwn rendering of it for display.
func msgOptions(text, thread string) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(text, true), slack.MsgOptionDisableLinkUnfurl()}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	if md := Mrkdwn(text); md != "" && utf8.RuneCountInString(md) <= textLimit {
		opts = append(opts, slack.MsgOptionBlocks(
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, md, false, false), nil, nil)))
	}
	return opts
}

// rateLimit maps Slack's two rate-limit shapes to reply.RateLimited.
func rateLimit(err error) error {
	if err == nil {
		return nil
	}
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return errors.Join(&reply.RateLimited{RetryAfter: rl.RetryAfter}, err)
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok && sc.Code == http.StatusTooManyRequests {
		return errors.Join(&reply.RateLimited{}, err)
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok && se.Err == "ratelimited" {
		return errors.Join(&reply.RateLimited{}, err)
	}
	return err
}
