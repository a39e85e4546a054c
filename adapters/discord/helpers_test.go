package discord

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/discord/fakediscord"
	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	guild    = fakediscord.DefaultGuild
	channel  = "600000000000000001"
	alice    = "700000000000000001"
	bob      = "700000000000000002"
	waitLong = 30 * time.Second // guard against hangs only
)

type harness struct {
	t   testing.TB
	srv *fakediscord.Server
	a   *Adapter
	eng Engine
}

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// start runs the adapter against a fresh fake until the test ends.
func start(t testing.TB, eng Engine, mod func(*Config)) *harness {
	t.Helper()
	return startLog(t, eng, mod, quietLog())
}

// startLog is start with the adapter's logger.
func startLog(t testing.TB, eng Engine, mod func(*Config), log logrus.FieldLogger) *harness {
	t.Helper()
	srv := fakediscord.New()
	srv.AddChannel(channel, map[string]any{"id": channel, "type": 0, "guild_id": guild, "name": "general"})
	cfg := Config{Token: fakediscord.Token, APIURL: srv.URL(), GuildID: guild, EditInterval: 20 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg, eng, log)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(waitLong):
			t.Error("Run did not return after cancel")
		}
		srv.Close()
	})
	h := &harness{t: t, srv: srv, a: a, eng: eng}
	h.until("adapter ready and commands registered", func(calls []fakediscord.Call) bool {
		return a.Ready() == nil && len(find(calls, "PUT", "/commands")) > 0
	})
	return h
}

// until waits for cond over the recorded calls, failing the test on timeout.
func (h *harness) until(what string, cond func([]fakediscord.Call) bool) []fakediscord.Call {
	h.t.Helper()
	calls, ok := h.srv.WaitFor(cond, waitLong)
	if !ok {
		var b strings.Builder
		for _, c := range calls {
			b.WriteString(c.Method + " " + c.Path + " " + truncate(string(c.Body), 300) + "\n")
		}
		h.t.Fatalf("timed out waiting for %s; calls:\n%s", what, b.String())
	}
	return calls
}

// eventually polls cond (for state outside the call log).
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// find returns the calls with method whose path contains sub.
func find(calls []fakediscord.Call, method, sub string) []fakediscord.Call {
	var out []fakediscord.Call
	for _, c := range calls {
		if c.Method == method && strings.Contains(c.Path, sub) {
			out = append(out, c)
		}
	}
	return out
}

func (h *harness) dispatch(t string, d any) {
	h.t.Helper()
	if err := h.srv.Dispatch(t, d); err != nil {
		h.t.Fatal(err)
	}
}

// message is a MESSAGE_CREATE payload from a user.
func (h *harness) message(channelID, author, content string, mention bool) map[string]any {
	m := map[string]any{
		"id": h.srv.NewID(), "channel_id": channelID, "guild_id": guild, "content": content, "type": 0,
		"author":    map[string]any{"id": author, "username": "user" + author[len(author)-1:]},
		"member":    map[string]any{"roles": []string{}},
		"timestamp": time.Now().UTC().Format(time.RFC3339),
		"mentions":  []any{},
	}
	if mention {
		m["mentions"] = []any{map[string]any{"id": fakediscord.BotID, "username": fakediscord.BotName, "bot": true}}
	}
	return m
}

// contents are the current texts of the bot's messages in a channel.
func (h *harness) contents(channelID string) []string {
	var out []string
	for _, m := range h.srv.Messages(channelID) {
		out = append(out, m.Content)
	}
	return out
}

// waitContents waits until the channel's messages are exactly want.
func (h *harness) waitContents(channelID string, want ...string) {
	h.t.Helper()
	h.until("messages "+strings.Join(want, " | "), func([]fakediscord.Call) bool {
		got := h.contents(channelID)
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	})
}

func body(t testing.TB, c fakediscord.Call) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Body, &m); err != nil {
		t.Fatalf("%s %s: body %q: %v", c.Method, c.Path, c.Body, err)
	}
	return m
}

// interaction is an INTERACTION_CREATE payload.
func (h *harness) interaction(typ int, channelID, user string, data any) map[string]any {
	id := h.srv.NewID()
	return map[string]any{
		"id": id, "application_id": fakediscord.AppID, "type": typ, "token": "tok-" + id,
		"channel_id": channelID, "guild_id": guild, "version": 1, "data": data,
		"member": map[string]any{"user": map[string]any{"id": user, "username": "user" + user[len(user)-1:]}, "roles": []string{}},
	}
}

func slash(sub string, opts ...map[string]any) map[string]any {
	o := map[string]any{"type": 1, "name": sub}
	if len(opts) > 0 {
		o["options"] = opts
	}
	return map[string]any{"id": "1", "name": "agent", "type": 1, "options": []any{o}}
}

// settle waits until every message worker has run what it had queued. Call
// it after a reply to a later gateway event has been seen: the gateway
// handler queues events in order, so every earlier event has then been
// handled, whichever channel's worker it went to.
func (h *harness) settle() {
	h.t.Helper()
	h.a.mu.Lock()
	qs := append([]chan func(context.Context){}, h.a.queues...)
	h.a.mu.Unlock()
	var wg sync.WaitGroup
	for _, q := range qs {
		wg.Add(1)
		h.a.enqueue(q, func(context.Context) { wg.Done() })
	}
	wg.Wait()
}
