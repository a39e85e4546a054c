package slack

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	wait    = 30 * time.Second // guard against hangs only
	channel = "C0GENERAL"
	user    = "U0ALICE"
)

type harness struct {
	t      testing.TB
	fake   *fakeslack.Server
	a      *Adapter
	cancel context.CancelFunc
	done   chan error
}

func testLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func baseConfig(fake *fakeslack.Server) Config {
	return Config{BotToken: "xoxb-test", AppToken: "xapp-test", SigningSecret: "sekrit",
		APIURL: fake.APIURL(), EditInterval: 20 * time.Millisecond}
}

// newHarness runs an adapter against a fresh fake Slack until the test ends.
func newHarness(t testing.TB, eng Engine, mut func(*Config)) *harness {
	t.Helper()
	fake := fakeslack.New(fakeslack.Options{})
	cfg := baseConfig(fake)
	if mut != nil {
		mut(&cfg)
	}
	a, err := New(cfg, eng, testLog())
	if err != nil {
		fake.Close()
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, fake: fake, a: a, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- a.Run(ctx) }()
	t.Cleanup(h.stop)
	if w, ok := eng.(interface{ wait() }); ok {
		t.Cleanup(w.wait) // runs first: turns end before the fake goes away
	}
	if !fake.WaitUntil(func() bool { return a.Ready() == nil }, wait) {
		t.Fatalf("adapter not ready: %v", a.Ready())
	}
	return h
}

func (h *harness) stop() {
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run returned %v", err)
		}
	case <-time.After(wait):
		h.t.Errorf("Run did not return after cancel")
	}
	h.fake.Close()
}

func (h *harness) inject(payload any) string {
	h.t.Helper()
	id, err := h.fake.Inject(fakeslack.Envelope{Type: "events_api", Payload: payload})
	if err != nil {
		h.t.Fatalf("inject: %v", err)
	}
	return id
}

// mention posts a user message mentioning the bot; Slack delivers it as
// both app_mention and message with the same ts.
func (h *harness) mention(text, thread string) string {
	ts := fakeslack.UserTS()
	m := fakeslack.Msg{Channel: channel, User: user, Text: "<@" + fakeslack.BotUserID + "> " + text, TS: ts, ThreadTS: thread}
	h.inject(fakeslack.MentionEvent(fakeslack.EventID(), m))
	h.inject(fakeslack.MessageEvent(fakeslack.EventID(), m))
	return ts
}

// say posts a plain message (no mention) as u in thread.
func (h *harness) say(u, text, thread string) string {
	ts := fakeslack.UserTS()
	h.inject(fakeslack.MessageEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: u, Text: text, TS: ts, ThreadTS: thread}))
	return ts
}

// threadTexts is the text of the bot's messages in thread, in order.
func (h *harness) threadTexts(thread string) []string {
	var out []string
	for _, m := range h.fake.Messages(channel) {
		if m.ThreadTS == thread {
			out = append(out, m.Text)
		}
	}
	return out
}

// waitThread waits until the thread's bot messages joined equal want.
func (h *harness) waitThread(thread, want string) {
	h.t.Helper()
	if !h.fake.WaitUntil(func() bool { return strings.Join(h.threadTexts(thread), "") == want }, wait) {
		h.t.Fatalf("thread %s: got %q, want %q", thread, h.threadTexts(thread), want)
	}
}

func (h *harness) waitReactions(ts string, want ...string) {
	h.t.Helper()
	if !h.fake.WaitUntil(func() bool { return strings.Join(h.fake.Reactions(channel, ts), ",") == strings.Join(want, ",") }, wait) {
		h.t.Fatalf("reactions on %s: got %v, want %v", ts, h.fake.Reactions(channel, ts), want)
	}
}

func (h *harness) waitCount(method string, n int) {
	h.t.Helper()
	if !h.fake.WaitUntil(func() bool { return h.fake.Count(method) >= n }, wait) {
		h.t.Fatalf("%s: %d calls, want at least %d", method, h.fake.Count(method), n)
	}
}

func callsOf(calls []fakeslack.Call, method string) []fakeslack.Call {
	var out []fakeslack.Call
	for _, c := range calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}
