package slack

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

const ackTimeout = 5 * time.Second

// readEvents consumes the Socket Mode client's events: every envelope is
// acknowledged first, then handed off so the read loop never waits on work.
func (a *Adapter) readEvents(ctx context.Context, sm *socketmode.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt := <-sm.Events:
			a.onSocketEvent(ctx, sm, evt)
		}
	}
}

func (a *Adapter) ack(ctx context.Context, sm *socketmode.Client, envelopeID string) {
	if envelopeID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if err := sm.AckCtx(ctx, envelopeID, nil); err != nil {
		a.log.WithError(err).WithField("envelope_id", envelopeID).Warn("slack: ack failed")
	}
}

func (a *Adapter) onSocketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive:
		if evt.Request == nil { // slack-go always sets it for these; never crash if not
			return
		}
	}
	switch evt.Type {
	case socketmode.EventTypeHello:
		a.mu.Lock()
		a.sockErr = nil
		a.mu.Unlock()
		a.log.Debug("slack: socket mode connected")
	case socketmode.EventTypeConnecting, socketmode.EventTypeDisconnect:
		a.setSockErr(errors.New("slack: socket mode reconnecting"))
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeInvalidAuth:
		err := errors.New("slack: socket mode connection error")
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok && e.ErrorObj != nil {
			err = errors.Join(err, e.ErrorObj)
		}
		a.setSockErr(err)
		a.log.WithError(err).Warn("slack: socket mode connection trouble")
	case socketmode.EventTypeErrorBadMessage:
		a.onBadMessage(ctx, sm, evt)
	case socketmode.EventTypeEventsAPI:
		a.ack(ctx, sm, evt.Request.EnvelopeID)
		a.onEventPayload(ctx, evt.Request.Payload, evt.Request.RetryAttempt)
	case socketmode.EventTypeSlashCommand:
		a.ack(ctx, sm, evt.Request.EnvelopeID)
		if cmd, ok := evt.Data.(slack.SlashCommand); ok {
			a.goSide(func(ctx context.Context) { a.onSlash(ctx, cmd) })
		}
	case socketmode.EventTypeInteractive:
		a.ack(ctx, sm, evt.Request.EnvelopeID)
		a.onInteractionPayload(evt.Request.Payload)
	}
}

func (a *Adapter) setSockErr(err error) {
	a.mu.Lock()
	a.sockErr = err
	a.mu.Unlock()
}

// onBadMessage acknowledges envelopes slack-go could not parse, so Slack
// does not redeliver them forever, and logs what was wrong.
func (a *Adapter) onBadMessage(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var env struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	_ = json.Unmarshal(bad.Message, &env)
	a.ack(ctx, sm, env.EnvelopeID)
	a.log.WithError(bad.Cause).WithField("type", env.Type).Warn("slack: rejected a malformed socket mode message")
}

// onEventPayload decodes an Events API payload and queues it in order.
func (a *Adapter) onEventPayload(ctx context.Context, raw []byte, retry int) {
	ev, err := decodeEvent(raw)
	switch {
	case errors.Is(err, errUnsupported):
		a.log.WithError(err).Debug("slack: ignoring event")
		return
	case err != nil:
		a.log.WithError(err).Warn("slack: rejected a malformed event")
		return
	case ev.Outer != "event_callback":
		return
	}
	if retry > 0 {
		a.log.WithFields(logrus.Fields{"event_id": ev.EventID, "retry": retry}).Debug("slack: redelivered event")
	}
	a.enqueue(ctx, func(ctx context.Context) { a.onMessage(ctx, ev) })
}

func (a *Adapter) onInteractionPayload(raw []byte) {
	it, err := decodeInteraction(raw)
	if errors.Is(err, errUnsupported) {
		a.log.WithError(err).Debug("slack: ignoring interaction")
		return
	}
	if err != nil {
		a.log.WithError(err).Warn("slack: rejected a malformed interaction")
		return
	}
	a.goSide(func(ctx context.Context) { a.onClick(ctx, it) })
}
