package discord

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/hotline-dev/hotline/adapters/reply"
	"github.com/hotline-dev/hotline/core"
	"github.com/sirupsen/logrus"
)

const (
	emojiDone  = "✅" // white_check_mark
	emojiError = "❌" // x
	emojiQueue = "⏳" // hourglass_flowing_sand: waiting behind another turn
	maxNotes   = 32  // bridge notes buffered per turn
)

// responder is core.Responder for one message. The core never overlaps
// calls for one message, so the fields below mu are only touched by the
// core's goroutine and the two helpers this responder owns (typing, notes).
type responder struct {
	a          *Adapter
	key        string
	channel    string // where the reply goes (thread or DM)
	msgChannel string // where the user's message is (for reactions)
	msgID      string // the user's message; "" for slash commands
	log        logrus.FieldLogger

	stream *reply.Stream

	mu         sync.Mutex
	stopTyping chan struct{}
	typingDone chan struct{}
	queued     bool
	notes      []func(context.Context)
	notesWake  chan struct{}
	notesStop  chan struct{}
	notesDone  chan struct{}
}

func (a *Adapter) newResponder(key, channel, msgChannel, msgID string, log logrus.FieldLogger) *responder {
	r := &responder{a: a, key: key, channel: channel, msgChannel: msgChannel, msgID: msgID, log: log}
	r.stream = reply.NewStream(poster{a: a, channel: channel}, reply.Options{
		Limit: messageLimit, Interval: a.cfg.EditInterval, Log: log,
	})
	return r
}

// detached is the context for delivering a turn's end: a reply that is
// ready when the bridge shuts down is still delivered, within a bound.
func detached() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), finishTimeout)
}

// Queued marks the user's message with a reaction (a note with the
// position when there is no message, e.g. /agent ask).
func (r *responder) Queued(position int) {
	if r.msgID == "" {
		r.note(fmt.Sprintf("Queued, position %d: I will answer once the current reply is done.", position))
		return
	}
	r.mu.Lock()
	r.queued = true
	r.mu.Unlock()
	r.side(func(ctx context.Context) { r.react(ctx, emojiQueue) })
}

// Started shows typing until the turn ends, repeating before Discord's
// indicator lapses.
func (r *responder) Started() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queued {
		r.queued = false
		r.sideLocked(func(ctx context.Context) { r.unreact(ctx, emojiQueue) })
	}
	if r.stopTyping != nil {
		return
	}
	stop, done := make(chan struct{}), make(chan struct{})
	if !r.a.goTracked(func() { defer close(done); r.typing(stop) }) {
		return
	}
	r.stopTyping, r.typingDone = stop, done
}

func (r *responder) typing(stop chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Ends the in-flight typing request when the turn ends.
		select {
		case <-stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	t := time.NewTicker(typingEvery)
	defer t.Stop()
	// The first request always completes (within a bound), so every turn
	// shows typing at least once however fast it ends; later ones are cut
	// short when the turn ends.
	first, firstCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer firstCancel()
	reqCtx := first
	for {
		if err := r.a.sess.ChannelTyping(r.channel, discordgo.WithContext(reqCtx)); err != nil && reqCtx.Err() == nil {
			r.log.WithError(err).Debug("discord: typing indicator failed")
		}
		reqCtx = ctx
		select {
		case <-stop:
			return
		case <-r.a.doneCh():
			return
		case <-t.C:
		}
	}
}

func (r *responder) endTyping() {
	r.mu.Lock()
	stop, done := r.stopTyping, r.typingDone
	r.stopTyping = nil
	r.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (r *responder) Delta(text string) { r.stream.Append(text) }

// ToolUse is logged only: the streamed reply and typing already show
// progress, and a message per tool call would flood the thread.
func (r *responder) ToolUse(tool, summary string) {
	r.log.WithField("tool", tool).Debug("discord: agent uses a tool")
}

func (r *responder) Notice(text string) { r.note(text) }

// note queues a bridge message for the side helper.
func (r *responder) note(text string) {
	r.side(func(ctx context.Context) { r.a.say(ctx, r.channel, text) })
}

// side queues a platform call for the side helper, which runs them in order
// so that the core's callbacks never wait on the network.
func (r *responder) side(f func(context.Context)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sideLocked(f)
}

func (r *responder) sideLocked(f func(context.Context)) {
	if len(r.notes) >= maxNotes {
		r.log.Warn("discord: too many notices in one turn; dropping one")
		return
	}
	r.notes = append(r.notes, f)
	if r.notesWake == nil {
		wake, stop, done := make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
		if !r.a.goTracked(func() { defer close(done); r.postNotes(wake, stop) }) {
			return
		}
		r.notesWake, r.notesStop, r.notesDone = wake, stop, done
	}
	select {
	case r.notesWake <- struct{}{}:
	default:
	}
}

func (r *responder) postNotes(wake, stop chan struct{}) {
	ctx, cancel := detached()
	defer cancel()
	for {
		r.mu.Lock()
		pending := r.notes
		r.notes = nil
		r.mu.Unlock()
		for _, f := range pending {
			f(ctx)
		}
		select {
		case <-wake:
		case <-r.a.doneCh():
			return
		case <-stop:
			r.mu.Lock()
			left := len(r.notes)
			r.mu.Unlock()
			if left == 0 {
				return
			}
		}
	}
}

// flushNotes waits until every queued note is posted.
func (r *responder) flushNotes() {
	r.mu.Lock()
	stop, done := r.notesStop, r.notesDone
	r.notesStop, r.notesWake = nil, nil
	r.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (r *responder) Done(res core.Result) {
	r.endTyping()
	r.flushNotes()
	ctx, cancel := detached()
	defer cancel()
	if err := r.stream.Finish(ctx, res.Text); err != nil {
		r.log.WithError(err).Error("discord: final reply not delivered")
	}
	if strings.TrimSpace(res.Text) == "" {
		// Split gives nothing for empty text, and Discord rejects empty
		// messages: say so instead of leaving the thread silent.
		r.a.say(ctx, r.channel, "(the agent finished without a text reply)")
	}
	marker := emojiDone
	if res.IsError {
		marker = emojiError
	}
	r.reactLater(marker)
}

// reactLater sets the final marker without holding up the thread's next
// turn: Discord allows one reaction per 200 ms per channel, so with many
// threads in one channel a synchronous marker would delay every reply.
func (r *responder) reactLater(emoji string) {
	do := func() {
		ctx, cancel := detached()
		defer cancel()
		r.react(ctx, emoji)
	}
	if !r.a.goTracked(do) {
		do() // shutting down: deliver it here
	}
}

func (r *responder) Failed(err error) {
	r.endTyping()
	r.flushNotes()
	r.stream.Abort()
	ctx, cancel := detached()
	defer cancel()
	r.a.say(ctx, r.channel, emojiError+" "+err.Error())
	r.reactLater(emojiError)
}

func (r *responder) unreact(ctx context.Context, emoji string) {
	err := retryRateLimited(ctx, func() error {
		return mapErr(r.a.sess.MessageReactionRemove(r.msgChannel, r.msgID, emoji, "@me", discordgo.WithContext(ctx)))
	})
	if err != nil {
		r.log.WithError(err).Debug("discord: removing a reaction failed")
	}
}

func (r *responder) react(ctx context.Context, emoji string) {
	if r.msgID == "" {
		return
	}
	err := retryRateLimited(ctx, func() error {
		return mapErr(r.a.sess.MessageReactionAdd(r.msgChannel, r.msgID, emoji, discordgo.WithContext(ctx)))
	})
	if err != nil {
		r.log.WithError(err).Debug("discord: reaction failed")
	}
}
