package discord

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/hotline-dev/hotline/core"
)

// pending is one approval message waiting for a click.
type pending struct {
	channel string
	content string
	decided chan core.Decision // buffered 1; written by the click that wins
}

// approvals maps request ids to open approval messages. Its size is
// bounded by the turns in flight (each blocks in Approve).
type approvals struct {
	mu sync.Mutex
	m  map[string]*pending
}

func newApprovals() *approvals { return &approvals{m: make(map[string]*pending)} }

func (ap *approvals) add(id string, p *pending) error {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	if _, dup := ap.m[id]; dup {
		return fmt.Errorf("approval %q is already pending", id)
	}
	ap.m[id] = p
	return nil
}

// take removes and returns the entry: whoever takes it (a click or the
// timeout) decides.
func (ap *approvals) take(id string) *pending {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	p := ap.m[id]
	delete(ap.m, id)
	return p
}

func approvalText(req core.Approval) string {
	var b strings.Builder
	b.WriteString("**Approval needed**: the agent wants to use **")
	b.WriteString(req.Tool)
	b.WriteString("**")
	if req.Command != "" {
		cmd := req.Command
		if utf8.RuneCountInString(cmd) > 1200 {
			cmd = string([]rune(cmd)[:1200]) + "…"
		}
		b.WriteString("\n```\n" + strings.ReplaceAll(cmd, "```", "`\u200b``") + "\n```")
	}
	if req.Rule != "" {
		b.WriteString("\nFirewall rule: `" + req.Rule + "`")
	}
	if req.Reason != "" {
		b.WriteString("\nReason: " + req.Reason)
	}
	return clip(b.String())
}

func buttons(id string) []discordgo.MessageComponent {
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Approve", Style: discordgo.SuccessButton, CustomID: approvePrefix + id},
		discordgo.Button{Label: "Deny", Style: discordgo.DangerButton, CustomID: denyPrefix + id},
	}}}
}

// Approve posts the buttons and waits for a click or for ctx to end.
func (r *responder) Approve(ctx context.Context, req core.Approval) (core.Decision, error) {
	if req.ID == "" || len(req.ID) > maxRequestID {
		return core.Decision{}, fmt.Errorf("approval request id %q unusable as a Discord custom_id", req.ID)
	}
	content := approvalText(req)
	// Registered before posting: a click can arrive before the POST returns.
	p := &pending{channel: r.channel, content: content, decided: make(chan core.Decision, 1)}
	if err := r.a.approvals.add(req.ID, p); err != nil {
		return core.Decision{}, err
	}
	// Posted on a detached context: a withdrawal that lands while the POST
	// is on the wire must still learn the message id to remove the buttons.
	pctx, pcancel := detached()
	m, err := r.a.send(pctx, r.channel, &discordgo.MessageSend{Content: content, Components: buttons(req.ID)})
	pcancel()
	if err != nil {
		if r.a.approvals.take(req.ID) == nil {
			return <-p.decided, nil
		}
		if ctx.Err() != nil {
			return core.Decision{}, ctx.Err()
		}
		return core.Decision{}, fmt.Errorf("posting the approval request: %w", err)
	}
	select {
	case d := <-p.decided:
		return d, nil
	case <-ctx.Done():
	}
	if r.a.approvals.take(req.ID) == nil {
		// A click won the race; it has sent its decision.
		return <-p.decided, nil
	}
	why := "Request withdrawn"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why = "No decision within the approval timeout: denied"
	}
	ectx, cancel := detached()
	defer cancel()
	text := clip(content + "\n\n" + why)
	if err := r.a.edit(ectx, &discordgo.MessageEdit{
		ID: m.ID, Channel: r.channel, Content: &text, Components: &[]discordgo.MessageComponent{},
	}); err != nil {
		r.log.WithError(err).Warn("discord: removing approval buttons failed")
	}
	return core.Decision{}, ctx.Err()
}

// handleButton answers an Approve/Deny click.
func (a *Adapter) handleButton(ctx context.Context, ev interactionEvent) {
	if !a.access.allowed(ev.UserID, ev.Roles, ev.ChannelID, a.parentForAccess(ctx, ev.ChannelID)) {
		a.ephemeral(ctx, ev, "You are not allowed to decide approvals here.")
		return
	}
	p := a.approvals.take(ev.RequestID)
	if p == nil {
		a.ephemeral(ctx, ev, "This request is no longer waiting for a decision.")
		return
	}
	p.decided <- core.Decision{Allow: ev.Allow, By: ev.UserName}
	verdict := "Approved by " + ev.UserName
	if !ev.Allow {
		verdict = "Denied by " + ev.UserName
	}
	err := a.sess.InteractionRespond(ev.raw, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{
			Content: clip(p.content + "\n\n" + verdict), Components: []discordgo.MessageComponent{},
			AllowedMentions: noMentions(),
		},
	}, discordgo.WithContext(ctx))
	if err != nil {
		// The decision stands; show it by editing the clicked message.
		text := clip(p.content + "\n\n" + verdict)
		if ev.MessageID == "" {
			a.log.WithError(err).WithField("channel", p.channel).Warn("discord: updating the approval message failed")
			return
		}
		if err := a.edit(ctx, &discordgo.MessageEdit{ID: ev.MessageID, Channel: ev.ChannelID, Content: &text,
			Components: &[]discordgo.MessageComponent{}}); err != nil {
			a.log.WithError(err).WithField("channel", p.channel).Warn("discord: updating the approval message failed")
		}
	}
}

func (a *Adapter) ephemeral(ctx context.Context, ev interactionEvent, text string) {
	err := a.sess.InteractionRespond(ev.raw, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: text, Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions()},
	}, discordgo.WithContext(ctx))
	if err != nil {
		a.log.WithError(err).WithField("channel", ev.ChannelID).Warn("discord: ephemeral answer failed")
	}
}
