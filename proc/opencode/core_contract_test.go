//go:build contract

package opencode_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/proc/opencode"
	"github.com/hotline-dev/hotline/sessionstore"
	"github.com/hotline-dev/hotline/waf"
)

// The driver as core uses it: core.Agent, the firewall through the
// permission channel, and a restart that resumes the thread's session.
var _ core.Agent = (*opencode.Agent)(nil)

func coreSpawn(sup *opencode.Supervisor) core.SpawnFunc {
	return func(ctx context.Context, s core.Spawn) (core.Agent, error) {
		a, err := sup.Spawn(ctx, s.Key, s.SessionID, s.Resume, s.Control)
		if err != nil {
			return nil, err // not a nil *Agent inside a non-nil core.Agent
		}
		return a, nil
	}
}

type mapStore struct {
	mu   sync.Mutex
	recs map[string]sessionstore.Record
}

func (m *mapStore) Get(_ context.Context, key string) (sessionstore.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[key]
	if !ok {
		return sessionstore.Record{}, sessionstore.ErrNotFound
	}
	return r, nil
}

func (m *mapStore) Put(_ context.Context, r sessionstore.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[r.Key] = r
	return nil
}

// denyRM is a firewall that blocks rm and lets the rest through.
type denyRM struct{}

func (denyRM) CheckTool(_, tool string, input json.RawMessage) waf.Verdict {
	var in struct {
		Command string `json:"command"`
	}
	_ = json.Unmarshal(input, &in)
	if tool == "Bash" && strings.HasPrefix(in.Command, "rm ") {
		return waf.Verdict{Action: waf.Deny, Rule: "T-RM", Reason: "no rm in tests"}
	}
	return waf.Verdict{Action: waf.Allow}
}

func (denyRM) CheckPrompt(_, _ string) waf.Verdict { return waf.Verdict{Action: waf.Allow} }

type reply struct {
	mu      sync.Mutex
	deltas  strings.Builder
	notices []string
	res     *core.Result
	err     error
	done    chan struct{}
	allow   bool
}

func newReply(allow bool) *reply { return &reply{done: make(chan struct{}), allow: allow} }

func (r *reply) Queued(int)             {}
func (r *reply) Started()               {}
func (r *reply) ToolUse(string, string) {}
func (r *reply) Delta(t string)         { r.mu.Lock(); r.deltas.WriteString(t); r.mu.Unlock() }
func (r *reply) Notice(t string) {
	r.mu.Lock()
	r.notices = append(r.notices, t)
	r.mu.Unlock()
}
func (r *reply) Approve(context.Context, core.Approval) (core.Decision, error) {
	return core.Decision{Allow: r.allow, By: "tester"}, nil
}
func (r *reply) Done(res core.Result) { r.mu.Lock(); r.res = &res; r.mu.Unlock(); close(r.done) }
func (r *reply) Failed(err error)     { r.mu.Lock(); r.err = err; r.mu.Unlock(); close(r.done) }

func submit(t *testing.T, rt *core.Router, key, text string, allow bool) *reply {
	t.Helper()
	rp := newReply(allow)
	if err := rt.Submit(context.Background(), core.Inbound{Key: key, Text: text, Reply: rp}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rp.done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("no end for %q", text)
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.err != nil {
		t.Fatalf("%q failed: %v", text, rp.err)
	}
	return rp
}

func TestContractThroughCore(t *testing.T) {
	cfg, fake := opencode.ContractConfig(t)
	store := &mapStore{recs: map[string]sessionstore.Record{}}
	const key = "discord:G1:C2:T3"
	newRouter := func() (*core.Router, *opencode.Supervisor) {
		sup, err := opencode.NewSupervisor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rt, err := core.New(core.Config{Spawn: coreSpawn(sup), Store: store, Firewall: denyRM{}, Agent: "opencode"})
		if err != nil {
			t.Fatal(err)
		}
		return rt, sup
	}
	closeBoth := func(rt *core.Router, sup *opencode.Supervisor) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := rt.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := sup.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}

	rt, sup := newRouter()
	rp := submit(t, rt, key, "hello core", false)
	if rp.res.Text != "ECHO: hello core" || rp.deltas.String() != rp.res.Text {
		t.Fatalf("reply %+v, deltas %q", rp.res, rp.deltas.String())
	}
	rp = submit(t, rt, key, "TOOL_BASH: rm -rf /tmp/not-there", false)
	if len(rp.notices) != 1 || !strings.Contains(rp.notices[0], "T-RM") || !strings.Contains(rp.res.Text, "is_error") {
		t.Fatalf("firewall: notices %q, reply %+v", rp.notices, rp.res)
	}
	rp = submit(t, rt, key, "TOOL_BASH: echo via-core", true)
	if !strings.Contains(rp.res.Text, "via-core") || strings.Contains(rp.res.Text, "is_error") {
		t.Fatalf("approved tool: %+v", rp.res)
	}
	first, _ := store.Get(context.Background(), key)
	if !strings.HasPrefix(first.SessionID, "ses") {
		t.Fatalf("stored session id %q is not OpenCode's", first.SessionID)
	}
	closeBoth(rt, sup)

	rt, sup = newRouter()
	defer closeBoth(rt, sup)
	rp = submit(t, rt, key, "still there?", false)
	var hist []string
	for _, r := range fake.Requests() {
		if r.Request.CurrentText() == "still there?" {
			hist = r.Request.UserTexts()
		}
	}
	after, _ := store.Get(context.Background(), key)
	if rp.res.Text != "ECHO: still there?" || after.SessionID != first.SessionID || !strings.Contains(strings.Join(hist, "|"), "hello core") {
		t.Fatalf("after restart: %+v, session %s (was %s), history %q", rp.res, after.SessionID, first.SessionID, hist)
	}
}
