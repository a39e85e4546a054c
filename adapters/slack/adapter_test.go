package slack

import (
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
)

// A mention starts a conversation; a later message in the thread without a
// mention continues it under the same key. The reply is posted, edited and
// ends equal to the result; markers go eyes -> white_check_mark.
func TestTwoTurnThreadScripted(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	release := eng.gate("hello there")

	ts := h.mention("hello there", "")
	h.waitCount("chat.postMessage", 1) // first half posted while the turn waits
	h.waitReactions(ts, "eyes")
	release()
	h.waitThread(ts, "ECHO: hello there")
	h.waitReactions(ts, "white_check_mark")
	if n := h.fake.Count("chat.update"); n < 1 {
		t.Fatalf("no chat.update: the reply was not edited as it grew")
	}

	ts2 := h.say("U0BOB", "and more", ts)
	h.waitThread(ts, "ECHO: hello thereECHO: and more")
	h.waitReactions(ts2, "white_check_mark")
	eng.wait()

	subs := eng.submitted()
	if len(subs) != 2 {
		t.Fatalf("%d turns, want 2 (app_mention and message for one ts must be one turn)", len(subs))
	}
	want := "slack:" + fakeslack.TeamID + ":" + channel + ":" + ts
	for _, s := range subs {
		if s.Key != want {
			t.Errorf("key %q, want %q", s.Key, want)
		}
	}
	if subs[0].Text != "hello there" || subs[1].Text != "and more" || subs[1].Author != "U0BOB" {
		t.Errorf("texts %q / %q by %s: mention must be stripped, the rest verbatim", subs[0].Text, subs[1].Text, subs[1].Author)
	}
	for _, m := range h.fake.Messages(channel) {
		if !strings.Contains(m.Blocks, "mrkdwn") {
			t.Errorf("reply %q has no mrkdwn block: %s", m.Text, m.Blocks)
		}
	}
}

// Messages in a thread nobody started, and top-level messages without a
// mention, are not turns.
func TestIgnoresUnaddressedMessages(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	h.say(user, "just chatting", "")
	h.say(user, "in someone's thread", fakeslack.UserTS())
	ts := h.mention("ping", "") // a barrier: handled after the two above
	h.waitThread(ts, "ECHO: ping")
	eng.wait()
	if subs := eng.submitted(); len(subs) != 1 || subs[0].Text != "ping" {
		t.Fatalf("submitted %+v, want only the mention", subs)
	}
}
