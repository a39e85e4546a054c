package slack

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/hotline-dev/hotline/adapters/reply"
	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/internal/testenv"
)

// These tests run the adapter against the real core.Router over real
// mockcli agents (internal/testenv), on the wire against fakeslack.

// recEngine is the real router plus a record of each turn's result, so
// tests can compare what Slack shows with what the agent said.
type recEngine struct {
	*core.Router
	mu      sync.Mutex
	results map[string]string // message ts -> result text
}

func newRecEngine(t *testing.T, opts ...func(*core.Config)) *recEngine {
	return &recEngine{Router: testenv.Router(t, opts...), results: map[string]string{}}
}

func (e *recEngine) Submit(ctx context.Context, in core.Inbound) error {
	in.Reply = &recResponder{Responder: in.Reply, e: e, id: in.MessageID}
	return e.Router.Submit(ctx, in)
}

func (e *recEngine) result(id string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.results[id]
	return r, ok
}

type recResponder struct {
	core.Responder
	e  *recEngine
	id string
}

func (r *recResponder) Done(res core.Result) {
	r.e.mu.Lock()
	r.e.results[r.id] = res.Text
	r.e.mu.Unlock()
	r.Responder.Done(res)
}

// waitResult waits for the turn of message ts to end and its reply (all
// bot messages in thread after skip) to equal the agent's result exactly.
func (h *harness) waitResult(e *recEngine, ts, thread string, skip int) string {
	h.t.Helper()
	var res string
	ok := h.fake.WaitUntil(func() bool {
		var done bool
		if res, done = e.result(ts); !done {
			return false
		}
		texts := h.threadTexts(thread)
		return len(texts) > skip && reply.Join(texts[skip:]) == res
	}, wait)
	if !ok {
		h.t.Fatalf("reply to %s: shown %q, result %q", ts, h.threadTexts(thread), res)
	}
	h.waitReactions(ts, "white_check_mark")
	return res
}

func TestE2ETwoTurnThread(t *testing.T) {
	eng := newRecEngine(t)
	h := newHarness(t, eng, nil)
	ts := h.mention("SLOW:200 hello there", "")
	if got := h.waitResult(eng, ts, ts, 0); got != "ECHO: SLOW:200 hello there" {
		t.Fatalf("result %q", got)
	}
	posts := callsOf(h.fake.Calls(), "chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d posts for a short reply, want 1", len(posts))
	}
	if first := posts[0].Form.Get("text"); first != "ECHO: SLOW:200 hello there" && h.fake.Count("chat.update") == 0 {
		t.Fatalf("first post %q was partial but never edited", first)
	}
	ts2 := h.say("U0BOB", "HISTORY", ts) // no mention: continues the thread's session
	if got := h.waitResult(eng, ts2, ts, 1); got != "HISTORY: SLOW:200 hello there" {
		t.Fatalf("second turn %q: not the same conversation", got)
	}
}

func TestE2EQueuedInOrder(t *testing.T) {
	eng := newRecEngine(t)
	h := newHarness(t, eng, nil)
	ts := h.mention("SLOW:100 first", "")
	var later []string
	for _, s := range []string{"one", "two", "three"} {
		later = append(later, h.say(user, s, ts))
	}
	h.waitResult(eng, ts, ts, 0)
	for i, q := range later {
		h.waitResult(eng, q, ts, i+1)
	}
	want := []string{"ECHO: SLOW:100 first", "ECHO: one", "ECHO: two", "ECHO: three"}
	if got := h.threadTexts(ts); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("thread %q, want %q", got, want)
	}
}

func TestE2ERateLimits(t *testing.T) {
	eng := newRecEngine(t)
	h := newHarness(t, eng, nil)
	h.fake.FailNth("chat.postMessage", 1, fakeslack.Fault{Status: 429, RetryAfter: "1"})
	h.fake.FailNth("chat.postMessage", 2, fakeslack.Fault{SlackError: "ratelimited"})
	h.fake.FailNth("chat.update", 1, fakeslack.Fault{Status: 429, RetryAfter: "1"})
	h.fake.FailNth("chat.update", 2, fakeslack.Fault{SlackError: "ratelimited"})
	ts := h.mention("STREAM:30:20", "")
	h.waitResult(eng, ts, ts, 0)
	posts := callsOf(h.fake.Calls(), "chat.postMessage")
	if len(posts) < 3 || !posts[0].Fault || !posts[1].Fault {
		t.Fatalf("both rate-limited posts must be retried: %d posts", len(posts))
	}
}

func TestE2EHugeReply(t *testing.T) {
	eng := newRecEngine(t)
	h := newHarness(t, eng, nil)
	ts := h.mention("HUGE:200000", "")
	res := h.waitResult(eng, ts, ts, 0)
	if len(res) != 200000 {
		t.Fatalf("result is %d bytes", len(res))
	}
	if n := len(h.threadTexts(ts)); n < 60 {
		t.Fatalf("200 KB in %d messages of at most %d characters?", n, textLimit)
	}
}

func TestE2ERedeliveryAndRestart(t *testing.T) {
	eng := newRecEngine(t)
	h := newHarness(t, eng, nil)
	ts := fakeslack.UserTS()
	ev := fakeslack.MentionEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: user, Text: "<@UBOT> only once", TS: ts})
	h.inject(ev)
	h.waitResult(eng, ts, ts, 0)
	if _, err := h.fake.Inject(fakeslack.Envelope{Type: "events_api", Payload: ev, RetryAttempt: 1, RetryReason: "timeout"}); err != nil {
		t.Fatal(err)
	}
	q := h.say(user, "HISTORY", ts)
	if got := h.waitResult(eng, q, ts, 1); got != "HISTORY: only once" {
		t.Fatalf("history %q: the redelivered event ran again", got)
	}

	// A new adapter (a restarted bridge) over the same engine and fake
	// continues the thread without a mention: the engine knows the key.
	h.cancel()
	<-h.done
	h.done <- nil // h.stop runs at cleanup
	a2, err := New(baseConfig(h.fake), eng, testLog())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a2.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if !h.fake.WaitUntil(func() bool { return a2.Ready() == nil }, wait) {
		t.Fatal("second adapter not ready")
	}
	q2 := h.say(user, "HISTORY", ts)
	if got := h.waitResult(eng, q2, ts, 2); got != "HISTORY: only once | HISTORY" {
		t.Fatalf("after restart %q", got)
	}
}

func TestE2ESocketDropMidTurn(t *testing.T) {
	eng := newRecEngine(t)
	h := newHarness(t, eng, nil)
	ts := h.mention("SLOW:150 keep going", "")
	h.waitCount("chat.postMessage", 1)
	h.fake.DropSockets()
	h.waitResult(eng, ts, ts, 0)
	if !h.fake.WaitConnected(2, wait) {
		t.Fatal("no reconnect")
	}
	if !h.fake.WaitUntil(func() bool { return h.a.Ready() == nil }, wait) {
		t.Fatalf("not ready: %v", h.a.Ready())
	}
	q := h.say(user, "after the drop", ts)
	h.waitResult(eng, q, ts, 1)
}

func TestE2ESlashCommand(t *testing.T) {
	eng := newRecEngine(t)
	h := newHarness(t, eng, nil)
	h.slash("hello from slash", user)
	var prompt fakeslack.Message
	if !h.fake.WaitUntil(func() bool {
		for _, m := range h.fake.Messages(channel) {
			if m.ThreadTS == "" && strings.HasSuffix(m.Text, "asked: hello from slash") {
				prompt = m
				return true
			}
		}
		return false
	}, wait) {
		t.Fatal("prompt not posted")
	}
	h.waitResult(eng, prompt.TS, prompt.TS, 0)
	h.slash("status", user)
	h.waitCount("chat.postEphemeral", 1)
	if got := callsOf(h.fake.Calls(), "chat.postEphemeral")[0].Form.Get("text"); !strings.Contains(got, "most recent conversation") {
		t.Fatalf("status answer %q", got)
	}
}

func TestE2EApproval(t *testing.T) {
	for _, action := range []string{actionApprove, actionDeny} {
		t.Run(action, func(t *testing.T) {
			eng := newRecEngine(t)
			h := newHarness(t, eng, nil)
			ts := h.mention("TOOL_BASH: touch f", "")
			m := h.approvalMessage(ts)
			id := between(m.Blocks, `"value":"`, `"`)
			if id == "" {
				t.Fatalf("no request id in %s", m.Blocks)
			}
			h.click(action, id, m.TS, ts, user)
			res := h.waitResult(eng, ts, ts, 1)
			verb := map[string]string{actionApprove: "Approved by", actionDeny: "Denied by"}[action]
			// The click's side job answers the turn before it rewrites the
			// buttons, so the reply can be complete while the rewrite is
			// still on its way.
			if !h.fake.WaitUntil(func() bool {
				got := h.messageText(m.TS)
				return strings.Contains(got, verb+" <@"+user+">") && !strings.Contains(got, actionApprove)
			}, wait) {
				t.Fatalf("approval message %s", h.messageText(m.TS))
			}
			want := map[string]string{actionApprove: "completed", actionDeny: "Denied by " + user}[action]
			if !strings.Contains(res, want) {
				t.Fatalf("result %q does not reflect the decision (%q)", res, want)
			}
		})
	}
}

func TestE2EUnlistedUser(t *testing.T) {
	eng := newRecEngine(t)
	h := newHarness(t, eng, func(c *Config) { c.AllowedUsers = []string{user} })
	bad := fakeslack.UserTS()
	h.inject(fakeslack.MentionEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: "U0EVE", Text: "<@UBOT> HISTORY", TS: bad}))
	h.waitCount("chat.postEphemeral", 1)
	ok := h.mention("fine", "")
	h.waitResult(eng, ok, ok, 0)
	if got := h.threadTexts(bad); len(got) != 0 {
		t.Fatalf("refused user got replies %q", got)
	}
	if known, err := eng.Known(context.Background(), sessionKey(fakeslack.TeamID, channel, bad)); known || err != nil {
		t.Fatal("refused message reached the engine")
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

// Agent text with Slack's control characters is escaped on the wire, so it
// is displayed exactly as written and cannot ping the channel.
func TestE2EControlCharactersDisplayedVerbatim(t *testing.T) {
	eng := newRecEngine(t)
	h := newHarness(t, eng, nil)
	ts := h.mention("<!here> & <https://x.example|click> a<b", "")
	want := "ECHO: <!here> & <https://x.example|click> a<b"
	if got := h.waitResult(eng, ts, ts, 0); got != want {
		t.Fatalf("result %q", got)
	}
	if got := h.threadTexts(ts); len(got) != 1 || got[0] != want {
		t.Fatalf("displayed %q, want %q", got, want)
	}
	for _, c := range callsOf(h.fake.Calls(), "chat.postMessage") {
		if strings.Contains(c.Form.Get("text"), "<!here>") {
			t.Fatalf("unescaped control sequence on the wire: %q", c.Form.Get("text"))
		}
	}
}
