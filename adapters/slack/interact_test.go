package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
)

// approvalMessage waits for the approval message in thread and returns it.
func (h *harness) approvalMessage(thread string) fakeslack.Message {
	h.t.Helper()
	var found fakeslack.Message
	ok := h.fake.WaitUntil(func() bool {
		for _, m := range h.fake.Messages(channel) {
			if m.ThreadTS == thread && strings.Contains(m.Blocks, actionApprove) {
				found = m
				return true
			}
		}
		return false
	}, wait)
	if !ok {
		h.t.Fatalf("no approval message in thread %s", thread)
	}
	return found
}

func (h *harness) click(action, value, msgTS, thread, u string) {
	h.t.Helper()
	id, err := h.fake.Inject(fakeslack.Envelope{Type: "interactive",
		Payload: fakeslack.BlockAction(action, value, channel, msgTS, thread, u)})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, ok := h.fake.WaitAck(id, wait); !ok {
		h.t.Fatal("click not acknowledged")
	}
}

func (h *harness) messageText(ts string) string {
	for _, m := range h.fake.Messages(channel) {
		if m.TS == ts {
			return m.Text + "\n" + m.Blocks
		}
	}
	return ""
}

func TestApprovalButtons(t *testing.T) {
	for _, tc := range []struct {
		action, verb, result string
	}{
		{actionApprove, "Approved by <@" + user + ">", "approved by " + user},
		{actionDeny, "Denied by <@" + user + ">", "denied by " + user},
	} {
		t.Run(tc.action, func(t *testing.T) {
			h := newHarness(t, newScriptEngine(), func(c *Config) { c.AllowedUsers = []string{user} })
			ts := h.mention("TOOL_BASH: rm -rf /tmp/x", "")
			m := h.approvalMessage(ts)
			var blocks []map[string]any
			if err := json.Unmarshal([]byte(m.Blocks), &blocks); err != nil {
				t.Fatalf("blocks: %v", err)
			}
			if !strings.Contains(m.Blocks, `"value":"req-`+ts+`"`) || !strings.Contains(m.Blocks, actionDeny) ||
				!strings.Contains(m.Blocks, "rm -rf /tmp/x") {
				t.Fatalf("approval blocks lack ids, value or command: %s", m.Blocks)
			}
			// Someone not allowed clicks first: refused, still pending.
			h.click(tc.action, "req-"+ts, m.TS, ts, "U0MALLORY")
			h.waitCount("chat.postEphemeral", 1)
			h.click(tc.action, "req-"+ts, m.TS, ts, user)
			h.waitThread(ts, tc.verb+tc.result)
			if !h.fake.WaitUntil(func() bool {
				got := h.messageText(m.TS)
				return strings.Contains(got, tc.verb) && !strings.Contains(got, actionApprove)
			}, wait) {
				t.Fatalf("approval message not replaced: %s", h.messageText(m.TS))
			}
			eph := callsOf(h.fake.Calls(), "chat.postEphemeral")
			if len(eph) != 1 || eph[0].Form.Get("user") != "U0MALLORY" {
				t.Fatalf("want one refusal to U0MALLORY, got %d", len(eph))
			}
			// A second click finds nothing pending.
			h.click(actionApprove, "req-"+ts, m.TS, ts, user)
			h.waitCount("chat.postEphemeral", 2)
		})
	}
}

func TestApprovalTimeoutDenies(t *testing.T) {
	eng := newScriptEngine()
	eng.timeout = 50 * time.Millisecond
	h := newHarness(t, eng, nil)
	ts := h.mention("TOOL_BASH: ls", "")
	m := h.approvalMessage(ts)
	h.waitThread(ts, "No decision within the approval timeout: denied"+"no decision: context deadline exceeded")
	if got := h.messageText(m.TS); !strings.Contains(got, "No decision within the approval timeout: denied") ||
		strings.Contains(got, actionApprove) {
		t.Fatalf("approval message after timeout: %s", got)
	}
}

func TestApprovalWithdrawn(t *testing.T) {
	eng := newScriptEngine()
	withdraw := eng.gate("TOOL_BASH: sleep 1")
	h := newHarness(t, eng, nil)
	ts := h.mention("TOOL_BASH: sleep 1", "")
	m := h.approvalMessage(ts)
	withdraw()
	h.waitThread(ts, "Request withdrawn"+"no decision: context canceled")
	if got := h.messageText(m.TS); strings.Contains(got, actionApprove) {
		t.Fatalf("buttons not retracted: %s", got)
	}
}

func (h *harness) slash(text, u string) string {
	h.t.Helper()
	id, err := h.fake.Inject(fakeslack.Envelope{Type: "slash_commands", Payload: fakeslack.SlashCommand("/agent", text, channel, u)})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, ok := h.fake.WaitAck(id, wait); !ok {
		h.t.Fatal("slash command not acknowledged")
	}
	return id
}

func TestSlashCommand(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)

	h.slash("stop", user) // no conversation yet: explained
	h.waitCount("chat.postEphemeral", 1)
	if got := callsOf(h.fake.Calls(), "chat.postEphemeral")[0].Form.Get("text"); !strings.Contains(got, "no conversation") {
		t.Fatalf("explanation %q", got)
	}

	h.slash("what is 2+2", user)
	var prompt fakeslack.Message
	if !h.fake.WaitUntil(func() bool {
		for _, m := range h.fake.Messages(channel) {
			if m.ThreadTS == "" && strings.Contains(m.Text, "what is 2+2") {
				prompt = m
				return true
			}
		}
		return false
	}, wait) {
		t.Fatal("slash prompt not posted in the channel")
	}
	h.waitThread(prompt.TS, "ECHO: what is 2+2")

	h.slash("status", user)
	h.waitCount("chat.postEphemeral", 2)
	key := "slack:" + fakeslack.TeamID + ":" + channel + ":" + prompt.TS
	if cmds := eng.commands(); len(cmds) != 1 || cmds[0] != "status "+key {
		t.Fatalf("commands %v, want status on %s", cmds, key)
	}
	got := callsOf(h.fake.Calls(), "chat.postEphemeral")[1].Form.Get("text")
	if !strings.Contains(got, "did status") || !strings.Contains(got, "most recent conversation") {
		t.Fatalf("status answer %q", got)
	}
}

func TestUnlistedUserRefusedOnce(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, func(c *Config) { c.AllowedUsers = []string{user} })
	ts := fakeslack.UserTS()
	h.inject(fakeslack.MentionEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: "U0EVE", Text: "<@UBOT> hi", TS: ts}))
	h.inject(fakeslack.MentionEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: "U0EVE", Text: "<@UBOT> again", TS: fakeslack.UserTS()}))
	ok := h.mention("allowed", "")
	h.waitThread(ok, "ECHO: allowed")
	eng.wait()
	if subs := eng.submitted(); len(subs) != 1 || subs[0].Author != user {
		t.Fatalf("submitted %+v, want only the allowed user's", subs)
	}
	// The refusal goes out on the side pool, so it may land after the
	// allowed reply; both refusals were judged before the allowed mention
	// was dispatched, so once one has arrived a second would already be queued.
	h.waitCount("chat.postEphemeral", 1)
	eph := callsOf(h.fake.Calls(), "chat.postEphemeral")
	if len(eph) != 1 || eph[0].Form.Get("user") != "U0EVE" || !strings.Contains(eph[0].Form.Get("text"), "not allowed") {
		t.Fatalf("want exactly one refusal to U0EVE, got %+v", eph)
	}
}

func TestChannelsAndBots(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, func(c *Config) {
		c.AllowedChannels = []string{channel}
		c.ListenChannels = []string{channel}
	})
	// Another channel: refused.
	h.inject(fakeslack.MentionEvent(fakeslack.EventID(), fakeslack.Msg{Channel: "C0OTHER", User: user, Text: "<@UBOT> hi", TS: fakeslack.UserTS()}))
	// Other bots and our own messages: ignored.
	h.inject(fakeslack.MessageEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: "U0OTHERBOT", BotID: "B0OTHER", Text: "beep", TS: fakeslack.UserTS()}))
	h.inject(fakeslack.MessageEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: fakeslack.BotUserID, BotID: fakeslack.BotID, Text: "me", TS: fakeslack.UserTS()}))
	// Edits are not turns.
	h.inject(fakeslack.MessageEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: user, Subtype: "message_changed", Text: "x", TS: fakeslack.UserTS()}))
	// A listen channel: a top-level message without mention starts a conversation.
	ts := h.say(user, "no mention needed", "")
	h.waitThread(ts, "ECHO: no mention needed")
	eng.wait()
	if subs := eng.submitted(); len(subs) != 1 {
		t.Fatalf("%d turns, want 1", len(subs))
	}
	// The refusal goes out on the side pool and may land after the reply;
	// it was queued before the listen-channel message was dispatched, so
	// once one has arrived a second would already have been queued too.
	h.waitCount("chat.postEphemeral", 1)
	if eph := callsOf(h.fake.Calls(), "chat.postEphemeral"); len(eph) != 1 || eph[0].Form.Get("channel") != "C0OTHER" {
		t.Fatalf("want one refusal in C0OTHER, got %d", len(eph))
	}
}

func TestFailedTurnMarksError(t *testing.T) {
	h := newHarness(t, newScriptEngine(), nil)
	ts := h.mention("FAIL", "")
	h.waitThread(ts, "the agent crashed")
	h.waitReactions(ts, "x")
}

func TestEmptyAndErrorResults(t *testing.T) {
	h := newHarness(t, newScriptEngine(), nil)
	ts := h.mention("EMPTY", "")
	h.waitThread(ts, "(the agent finished without a reply)")
	h.waitReactions(ts, "white_check_mark")
	ts2 := h.mention("APIERROR", "")
	h.waitThread(ts2, "API Error: 500")
	h.waitReactions(ts2, "x")
}

func TestQueueFullShownInThread(t *testing.T) {
	eng := newScriptEngine()
	eng.full = true
	h := newHarness(t, eng, nil)
	ts := h.mention("anything", "")
	if !h.fake.WaitUntil(func() bool { return strings.Contains(strings.Join(h.threadTexts(ts), ""), "maximum number of queued") }, wait) {
		t.Fatalf("queue-full text not shown: %q", h.threadTexts(ts))
	}
}
