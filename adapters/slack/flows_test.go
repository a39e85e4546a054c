package slack

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/adapters/reply"
	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
)

// Three messages arriving during a turn are acknowledged as queued and
// answered in arrival order after it.
func TestMessagesDuringTurnAnsweredInOrder(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	release := eng.gate("first")
	ts := h.mention("first", "")
	h.waitCount("chat.postMessage", 1)
	var queued []string
	for _, text := range []string{"one", "two", "three"} {
		queued = append(queued, h.say(user, text, ts))
	}
	for _, q := range queued {
		h.waitReactions(q, "hourglass_flowing_sand")
	}
	release()
	h.waitThread(ts, "ECHO: firstECHO: oneECHO: twoECHO: three")
	for _, q := range queued {
		h.waitReactions(q, "white_check_mark")
	}
}

// A 429 with Retry-After and an ok:false ratelimited on chat.update delay
// the reply but lose none of it.
func TestRateLimitedUpdatesLoseNothing(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	h.fake.FailNth("chat.update", 1, fakeslack.Fault{Status: 429, RetryAfter: "1"})
	h.fake.FailNth("chat.update", 2, fakeslack.Fault{SlackError: "ratelimited"})
	release := eng.gate("rate limits please")
	ts := h.mention("rate limits please", "")
	h.waitCount("chat.postMessage", 1)
	release()
	h.waitThread(ts, "ECHO: rate limits please")
	h.waitReactions(ts, "white_check_mark")
	updates := callsOf(h.fake.Calls(), "chat.update")
	if len(updates) < 3 || !updates[0].Fault || !updates[1].Fault || updates[len(updates)-1].Fault {
		t.Fatalf("want two faulted chat.update calls then a successful one, got %d calls", len(updates))
	}
	if got := updates[len(updates)-1].Form.Get("text"); got != "ECHO: rate limits please" {
		t.Fatalf("last update text %q", got)
	}
}

// A 200 KB reply is split into several messages in the thread, each within
// Slack's limit, that together are the reply exactly.
func TestHugeReplySplitLosesNothing(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, func(c *Config) { c.EditInterval = 5 * time.Millisecond })
	ts := h.mention("HUGE:200000", "")
	want := hugeText(200000)
	if !h.fake.WaitUntil(func() bool { return reply.Join(h.threadTexts(ts)) == want }, wait) {
		got := reply.Join(h.threadTexts(ts))
		t.Fatalf("joined reply differs: %d bytes, want %d", len(got), len(want))
	}
	texts := h.threadTexts(ts)
	if len(texts) < 10 {
		t.Fatalf("%d messages for 200 KB, want it split", len(texts))
	}
	for i, x := range texts {
		if n := utf8.RuneCountInString(x); n > textLimit {
			t.Errorf("message %d has %d characters, limit %d", i, n, textLimit)
		}
		if strings.Contains(x, reply.SurplusMarker) {
			t.Errorf("message %d is a surplus marker", i)
		}
	}
	h.waitReactions(ts, "white_check_mark")
}

// An event delivered again (same event_id, Slack's retry) starts no second
// turn, whether it comes back during the turn or after the reply.
func TestRedeliveredEventStartsNoSecondTurn(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	ts := fakeslack.UserTS()
	ev := fakeslack.MentionEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: user, Text: "<@UBOT> once", TS: ts})
	h.inject(ev)
	if _, err := h.fake.Inject(fakeslack.Envelope{Type: "events_api", Payload: ev, RetryAttempt: 1, RetryReason: "timeout"}); err != nil {
		t.Fatal(err)
	}
	h.waitThread(ts, "ECHO: once")
	id, err := h.fake.Inject(fakeslack.Envelope{Type: "events_api", Payload: ev, RetryAttempt: 2, RetryReason: "timeout"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.fake.WaitAck(id, wait); !ok {
		t.Fatal("redelivery not acknowledged")
	}
	barrier := h.mention("barrier", "")
	h.waitThread(barrier, "ECHO: barrier")
	eng.wait()
	if n := len(eng.submitted()); n != 2 {
		t.Fatalf("%d turns, want 2 (once + barrier)", n)
	}
}

// The websocket dies mid-turn: the reply still completes over the Web API,
// the client reconnects, and the next message is served.
func TestSocketDroppedMidTurn(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	release := eng.gate("survive this")
	ts := h.mention("survive this", "")
	h.waitCount("chat.postMessage", 1)
	h.fake.DropSockets()
	release()
	h.waitThread(ts, "ECHO: survive this")
	if !h.fake.WaitConnected(2, wait) {
		t.Fatal("client did not reconnect")
	}
	if !h.fake.WaitUntil(func() bool { return h.a.Ready() == nil }, wait) {
		t.Fatalf("not ready after reconnect: %v", h.a.Ready())
	}
	h.say(user, "after", ts)
	h.waitThread(ts, "ECHO: survive thisECHO: after")
}

// Slack's "disconnect" request makes the client reconnect without losing events.
func TestDisconnectRequestReconnects(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	if err := h.fake.Disconnect(); err != nil {
		t.Fatal(err)
	}
	if !h.fake.WaitConnected(2, wait) {
		t.Fatal("no reconnect after disconnect")
	}
	ts := h.mention("still here", "")
	h.waitThread(ts, "ECHO: still here")
}

// Every envelope is acknowledged, including ones the bridge ignores.
func TestEnvelopesAcknowledged(t *testing.T) {
	h := newHarness(t, newScriptEngine(), nil)
	ids := []string{
		h.inject(fakeslack.Callback(fakeslack.EventID(), map[string]any{"type": "reaction_added", "user": user})),
		h.inject(fakeslack.MessageEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: user, Text: "hi", TS: fakeslack.UserTS()})),
	}
	for _, id := range ids {
		if _, ok := h.fake.WaitAck(id, wait); !ok {
			t.Errorf("envelope %s not acknowledged", id)
		}
	}
}
