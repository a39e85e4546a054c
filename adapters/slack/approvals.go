package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/core"
)

// Button action ids (DESIGN: approvals).
const (
	actionApprove = "hotline_approve"
	actionDeny    = "hotline_deny"
	maxPending    = 1024
	maxShown      = 2500 // characters of a command shown in the block
)

var errTooManyApprovals = errors.New("too many approvals are pending; denied")

type pendingApproval struct {
	channel string
	ts      string // the approval message, once posted
	title   string
	answer  chan core.Decision // buffered 1: the click never waits
}

// approvals tracks the approval messages waiting for a click, by request id.
type approvals struct {
	mu sync.Mutex
	m  map[string]*pendingApproval
}

func newApprovals() *approvals { return &approvals{m: map[string]*pendingApproval{}} }

func (p *approvals) add(id string, pa *pendingApproval) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) >= maxPending {
		return errTooManyApprovals
	}
	if _, dup := p.m[id]; dup {
		return fmt.Errorf("approval %q is already pending", id)
	}
	p.m[id] = pa
	return nil
}

func (p *approvals) setTS(id, ts string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pa, ok := p.m[id]; ok {
		pa.ts = ts
	}
}

// take removes and returns the pending approval id in channel.
func (p *approvals) take(id, channel string) (*pendingApproval, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pa, ok := p.m[id]
	if !ok || pa.channel != channel {
		return nil, false
	}
	delete(p.m, id)
	return pa, true
}

func approvalTitle(req core.Approval) string {
	cmd := req.Command
	if r := []rune(cmd); len(r) > maxShown {
		cmd = string(r[:maxShown]) + "…"
	}
	t := "*" + escapeMrkdwn(req.Tool) + "*"
	if cmd != "" {
		t += "\n```\n" + escapeMrkdwn(cmd) + "\n```"
	}
	return t
}

func approvalBlocks(id string, req core.Approval) []slack.Block {
	body := "Approval needed: the agent wants to use " + approvalTitle(req)
	if req.Reason != "" {
		body += "\nReason: " + escapeMrkdwn(req.Reason)
	}
	if req.Rule != "" {
		body += " (firewall rule `" + escapeMrkdwn(req.Rule) + "`)"
	}
	approve := slack.NewButtonBlockElement(actionApprove, id, slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false))
	approve.Style = slack.StylePrimary
	deny := slack.NewButtonBlockElement(actionDeny, id, slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false))
	deny.Style = slack.StyleDanger
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, body, false, false), nil, nil),
		slack.NewActionBlock("hotline_approval", approve, deny),
	}
}

// Approve posts Approve/Deny buttons in the thread and waits for a click.
func (r *responder) Approve(ctx context.Context, req core.Approval) (core.Decision, error) {
	pa := &pendingApproval{channel: r.channel, title: approvalTitle(req), answer: make(chan core.Decision, 1)}
	if err := r.a.approvals.add(req.ID, pa); err != nil {
		return core.Decision{}, err
	}
	log := r.log.WithFields(logrus.Fields{"approval": req.ID, "tool": req.Tool})
	fallback := "Approval needed: " + req.Tool + " " + req.Command
	pctx, cancel := r.a.apiCtx()
	_, ts, err := r.a.api.PostMessageContext(pctx, r.channel, slack.MsgOptionText(fallback, false),
		slack.MsgOptionTS(r.thread), slack.MsgOptionBlocks(approvalBlocks(req.ID, req)...))
	cancel()
	if err != nil {
		r.a.approvals.take(req.ID, r.channel)
		log.WithError(err).Error("slack: could not post approval buttons")
		return core.Decision{}, fmt.Errorf("posting approval: %w", err)
	}
	r.a.approvals.setTS(req.ID, ts)
	select {
	case d := <-pa.answer:
		return d, nil
	case <-ctx.Done():
	}
	if _, still := r.a.approvals.take(req.ID, r.channel); !still {
		// A click won the race with ctx; its answer is already in the channel.
		select {
		case d := <-pa.answer:
			return d, nil
		default:
		}
	}
	outcome := "Request withdrawn"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		outcome = "No decision within the approval timeout: denied"
	}
	uctx, cancel := r.a.apiCtx()
	defer cancel()
	r.a.replaceButtons(uctx, r.channel, ts, outcome, pa.title)
	log.WithField("outcome", outcome).Info("slack: approval ended without a click")
	return core.Decision{}, ctx.Err()
}

// replaceButtons rewrites an approval message to say how it ended.
func (a *Adapter) replaceButtons(ctx context.Context, channel, ts, outcome, title string) {
	text := outcome + ": " + title
	_, _, _, err := a.api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(outcome, false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)))
	if err != nil {
		a.log.WithError(err).WithField("channel", channel).Warn("slack: could not replace approval buttons")
	}
}

// onClick handles an Approve/Deny button.
func (a *Adapter) onClick(ctx context.Context, it interaction) {
	if it.ActionID != actionApprove && it.ActionID != actionDeny {
		return
	}
	if !a.allowed(it.User, it.Channel) {
		a.ephemeral(ctx, it.Channel, it.User, it.ThreadTS, "Sorry, you're not allowed to decide approvals here.")
		return
	}
	pa, ok := a.approvals.take(it.Value, it.Channel)
	if !ok {
		a.ephemeral(ctx, it.Channel, it.User, it.ThreadTS, "This request is no longer pending.")
		return
	}
	allow := it.ActionID == actionApprove
	pa.answer <- core.Decision{Allow: allow, By: it.User}
	verb := "Denied"
	if allow {
		verb = "Approved"
	}
	ts := pa.ts
	if ts == "" {
		ts = it.MessageTS
	}
	a.replaceButtons(ctx, it.Channel, ts, verb+" by <@"+it.User+">", strings.TrimSpace(pa.title))
	a.log.WithFields(logrus.Fields{"channel": it.Channel, "approval": it.Value, "allow": allow, "user": it.User}).Info("slack: approval decided")
}
