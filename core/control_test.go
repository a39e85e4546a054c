package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/waf"
)

func TestApprovalAllowAndDeny(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:approve"
	allow := newRec()
	allow.approve = func(a core.Approval) (core.Decision, error) { return core.Decision{Allow: true, By: "alice"}, nil }
	if err := r.Submit(context.Background(), core.Inbound{Key: key, Text: "TOOL_BASH: touch /tmp/hotline-made", Reply: allow}); err != nil {
		t.Fatal(err)
	}
	res := allow.wait(t)
	if len(allow.asked) != 1 || allow.asked[0].Tool != "Bash" || allow.asked[0].Command != "touch /tmp/hotline-made" || allow.asked[0].ID == "" {
		t.Fatalf("approval request %+v", allow.asked)
	}
	if res.IsError {
		t.Fatalf("allowed tool turn: %+v", res)
	}
	deny := newRec()
	deny.approve = func(a core.Approval) (core.Decision, error) { return core.Decision{Allow: false, By: "bob"}, nil }
	if err := r.Submit(context.Background(), core.Inbound{Key: key, Text: "TOOL_BASH: touch /tmp/other", Reply: deny}); err != nil {
		t.Fatal(err)
	}
	deny.wait(t)
	if len(deny.asked) != 1 {
		t.Fatalf("deny: asked %d times", len(deny.asked))
	}
	if got := ask(t, r, key, "next").Text; got != "ECHO: next" {
		t.Fatalf("after approvals: %q", got)
	}
}

func TestApprovalTimeoutDenies(t *testing.T) {
	r := newRouter(t, func(c *core.Config) { c.ApprovalTimeout = 200 * time.Millisecond })
	key := "test:w:c:timeout"
	rc := send(t, r, key, "TOOL_BASH: touch /tmp/nobody-answers") // rec.approve nil: waits for ctx
	res := rc.wait(t)
	if len(rc.asked) != 1 {
		t.Fatalf("asked %d times", len(rc.asked))
	}
	if res.Text == "" {
		t.Fatalf("empty result after timeout")
	}
	if got := ask(t, r, key, "still here").Text; got != "ECHO: still here" {
		t.Fatalf("session after approval timeout: %q", got)
	}
}

// The firewall sees the agent's own tool call: rm -rf / is denied through
// the hook, the thread hears why, and the session goes on.
func TestFirewallDeniesThroughHook(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:waf"
	rc := send(t, r, key, "TOOL_BASH: rm -rf /")
	rc.wait(t)
	if len(rc.asked) != 0 {
		t.Fatalf("a denied command reached the approval buttons: %+v", rc.asked)
	}
	if len(rc.notices) != 1 || !strings.Contains(rc.notices[0], "hotline firewall") || !strings.Contains(rc.notices[0], "rm -rf /") {
		t.Fatalf("notices %q", rc.notices)
	}
	if got := ask(t, r, key, "after").Text; got != "ECHO: after" {
		t.Fatalf("after denial: %q", got)
	}
}

func TestPromptScreening(t *testing.T) {
	fw, err := waf.New(waf.Options{ScreenPrompts: true})
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(t, func(c *core.Config) { c.Firewall = fw })
	key := "test:w:c:prompt"
	err = send(t, r, key, "rm -rf / --no-preserve-root").failure(t)
	if !strings.Contains(err.Error(), "hotline firewall") {
		t.Fatalf("screened prompt: %v", err)
	}
	if got := ask(t, r, key, "list the files").Text; got != "ECHO: list the files" {
		t.Fatalf("benign prompt: %q", got)
	}
}
