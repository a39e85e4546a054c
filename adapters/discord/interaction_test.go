package discord

import (
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/discord/fakediscord"
)

func TestGatewayDropMidTurnResumes(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	m := h.message(channel, alice, "<@"+fakediscord.BotID+"> HOLD", true)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	h.waitContents(thread, "working")

	if !h.srv.DropGateway() {
		t.Fatal("no gateway to drop")
	}
	// Sent while the gateway is down: replayed on RESUME.
	during := h.message(thread, alice, "sent during the outage", false)
	h.dispatch("MESSAGE_CREATE", during)
	h.until("RESUME", func(c []fakediscord.Call) bool { return len(find(c, "WS", "op:6")) == 1 })
	h.eventually("resumed and ready", func() bool { return h.srv.Resumes() == 1 && h.a.Ready() == nil })
	close(eng.release)
	h.waitContents(thread, "HOLD done", "ECHO: sent during the outage")
	if n := len(h.srv.Identifies()); n != 1 {
		t.Errorf("identified %d times; a resume should not re-identify", n)
	}
	if n := len(eng.Inbound()); n != 2 {
		t.Errorf("submitted %d, want 2", n)
	}
}

func TestSlashAskInChannelOpensThread(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	ia := h.interaction(2, channel, alice, slash("ask", map[string]any{"type": 3, "name": "prompt", "value": "what is up"}))
	h.dispatch("INTERACTION_CREATE", ia)
	calls := h.until("deferral, edit and thread", func(c []fakediscord.Call) bool {
		return len(find(c, "POST", "/interactions/"+ia["id"].(string)+"/"+ia["token"].(string)+"/callback")) == 1 &&
			len(find(c, "PATCH", "/webhooks/"+fakediscord.AppID+"/"+ia["token"].(string)+"/messages/@original")) == 1 &&
			len(find(c, "POST", "/threads")) == 1
	})
	if typ := body(t, find(calls, "POST", "/callback")[0])["type"]; typ != float64(5) {
		t.Errorf("first answer type %v, want 5 (deferred)", typ)
	}
	// The deferred response is the message the thread hangs on.
	orig := h.srv.Messages(channel)
	if len(orig) != 1 || orig[0].Content != "**user1** asked: what is up" {
		t.Fatalf("channel messages %+v", orig)
	}
	thread := orig[0].ID
	if p := find(calls, "POST", "/threads")[0].Path; p != "/channels/"+channel+"/messages/"+thread+"/threads" {
		t.Errorf("thread on %s", p)
	}
	h.waitContents(thread, "ECHO: what is up")
	if k := eng.Inbound()[0].Key; k != "discord:"+guild+":"+channel+":"+thread {
		t.Errorf("key %q", k)
	}

	// In the thread, a command acts on the thread's session.
	st := h.interaction(2, thread, bob, slash("status"))
	h.dispatch("INTERACTION_CREATE", st)
	h.waitContents(thread, "ECHO: what is up", "status of discord:"+guild+":"+channel+":"+thread+": idle")
}

func TestSlashCommandAnswersInChannelWhenDeferFails(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	h.srv.AddFault(fakediscord.Fault{Method: "POST", PathHas: "/callback", Nth: 1, Status: 500})
	h.dispatch("INTERACTION_CREATE", h.interaction(2, channel, alice, slash("help")))
	h.waitContents(channel, "status of :"+" idle")
}

func TestSlashCommandOutsideThreadExplains(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	ia := h.interaction(2, channel, alice, slash("stop"))
	h.dispatch("INTERACTION_CREATE", ia)
	h.waitContents(channel, "Use this in a conversation thread (or a DM), or start one with `/agent ask`.")
}

// approvalMessage waits for the approval post in thread and returns it.
func approvalMessage(h *harness, thread string) fakediscord.Message {
	h.t.Helper()
	var msg fakediscord.Message
	h.until("approval buttons", func([]fakediscord.Call) bool {
		for _, m := range h.srv.Messages(thread) {
			if strings.Contains(string(m.Components), "hotline_approve:") {
				msg = m
				return true
			}
		}
		return false
	})
	return msg
}

func click(h *harness, thread, user, customID string, msg fakediscord.Message) map[string]any {
	ia := h.interaction(3, thread, user, map[string]any{"custom_id": customID, "component_type": 2})
	ia["message"] = map[string]any{"id": msg.ID, "channel_id": thread, "content": msg.Content}
	h.dispatch("INTERACTION_CREATE", ia)
	return ia
}

func TestApprovalButtons(t *testing.T) {
	for _, tc := range []struct {
		action, verdict, outcome string
	}{
		{"hotline_approve:", "Approved by user2", "approved by user2"},
		{"hotline_deny:", "Denied by user2", "denied"},
	} {
		t.Run(tc.outcome, func(t *testing.T) {
			eng := newFakeEngine()
			defer eng.Close()
			h := start(t, eng, func(c *Config) { c.AllowedUsers = []string{alice, bob} })
			m := h.message(channel, alice, "<@"+fakediscord.BotID+"> TOOL_BASH: rm -rf build", true)
			thread := m["id"].(string)
			h.dispatch("MESSAGE_CREATE", m)
			msg := approvalMessage(h, thread)
			reqID := "req-" + thread
			if !strings.Contains(string(msg.Components), `"hotline_deny:`+reqID+`"`) || !strings.Contains(msg.Content, "rm -rf build") {
				t.Fatalf("approval message %+v", msg)
			}
			// Someone not on the allow-list is refused, ephemerally.
			stranger := click(h, thread, "700000000000000099", tc.action+reqID, msg)
			calls := h.until("ephemeral refusal", func(c []fakediscord.Call) bool {
				return len(find(c, "POST", "/"+stranger["token"].(string)+"/callback")) == 1
			})
			refusal := body(t, find(calls, "POST", "/"+stranger["token"].(string)+"/callback")[0])
			if refusal["type"] != float64(4) || refusal["data"].(map[string]any)["flags"] != float64(64) {
				t.Errorf("refusal %v", refusal)
			}
			ia := click(h, thread, bob, tc.action+reqID, msg)
			calls = h.until("update", func(c []fakediscord.Call) bool {
				return len(find(c, "POST", "/"+ia["token"].(string)+"/callback")) == 1
			})
			upd := body(t, find(calls, "POST", "/"+ia["token"].(string)+"/callback")[0])
			data := upd["data"].(map[string]any)
			if upd["type"] != float64(7) || !strings.HasSuffix(data["content"].(string), tc.verdict) || len(data["components"].([]any)) != 0 {
				t.Errorf("update %v", upd)
			}
			h.eventually("turn done", func() bool { return len(eng.Outcomes()) == 1 })
			if got := eng.Outcomes()[0]; got != tc.outcome {
				t.Errorf("outcome %q, want %q", got, tc.outcome)
			}
			// A late second click finds nothing pending.
			late := click(h, thread, alice, tc.action+reqID, msg)
			calls = h.until("late click answer", func(c []fakediscord.Call) bool {
				return len(find(c, "POST", "/"+late["token"].(string)+"/callback")) == 1
			})
			if d := body(t, find(calls, "POST", "/"+late["token"].(string)+"/callback")[0])["data"].(map[string]any); !strings.Contains(d["content"].(string), "no longer waiting") {
				t.Errorf("late click answer %v", d)
			}
		})
	}
}

func TestApprovalTimeoutRemovesButtons(t *testing.T) {
	eng := newFakeEngine()
	eng.approval = 200 * time.Millisecond
	defer eng.Close()
	h := start(t, eng, nil)
	m := h.message(channel, alice, "<@"+fakediscord.BotID+"> TOOL_BASH: make deploy", true)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	msg := approvalMessage(h, thread)
	h.until("buttons replaced", func([]fakediscord.Call) bool {
		for _, x := range h.srv.Messages(thread) {
			if x.ID == msg.ID {
				return strings.HasSuffix(x.Content, "No decision within the approval timeout: denied") && string(x.Components) == "[]"
			}
		}
		return false
	})
	h.eventually("outcome", func() bool { return len(eng.Outcomes()) == 1 })
	if o := eng.Outcomes()[0]; o != "error: context deadline exceeded" {
		t.Errorf("outcome %q", o)
	}
}

func TestAccessControl(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	const role = "500000000000000001"
	h := start(t, eng, func(c *Config) { c.AllowedUsers = []string{alice}; c.AllowedRoles = []string{role} })
	denied := h.message(channel, bob, "<@"+fakediscord.BotID+"> let me in", true)
	h.dispatch("MESSAGE_CREATE", denied)
	byRole := h.message(channel, bob, "<@"+fakediscord.BotID+"> via role", true)
	byRole["member"] = map[string]any{"roles": []string{role}}
	h.dispatch("MESSAGE_CREATE", byRole)
	h.waitContents(byRole["id"].(string), "ECHO: via role")
	in := eng.Inbound()
	if len(in) != 1 || in[0].Text != "via role" {
		t.Fatalf("inbound %+v", in)
	}
	if n := len(find(h.srv.Calls(), "POST", "/messages/"+denied["id"].(string)+"/threads")); n != 0 {
		t.Error("a thread was opened for a user who is not allowed")
	}
	ia := h.interaction(2, channel, bob, slash("help"))
	h.dispatch("INTERACTION_CREATE", ia)
	calls := h.until("refusal", func(c []fakediscord.Call) bool {
		return len(find(c, "POST", "/"+ia["token"].(string)+"/callback")) == 1
	})
	if b := body(t, find(calls, "POST", "/"+ia["token"].(string)+"/callback")[0]); b["type"] != float64(4) {
		t.Errorf("refusal %v", b)
	}
}

func TestChannelAllowListAndListenChannels(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	other := "600000000000000002"
	h := start(t, eng, func(c *Config) { c.AllowedChannels = []string{channel}; c.ListenChannels = []string{channel} })
	h.srv.AddChannel(other, map[string]any{"id": other, "type": 0, "guild_id": guild})
	h.dispatch("MESSAGE_CREATE", h.message(other, alice, "<@"+fakediscord.BotID+"> elsewhere", true))
	m := h.message(channel, alice, "no mention needed here", false)
	h.dispatch("MESSAGE_CREATE", m)
	h.waitContents(m["id"].(string), "ECHO: no mention needed here")
	h.settle()
	if n := len(eng.Inbound()); n != 1 {
		t.Errorf("submitted %d, want 1", n)
	}
}

func TestBadPayloadsRejectedWithoutCrash(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	for _, raw := range []string{
		`not json at all`,
		`{"op":0,"t":"MESSAGE_CREATE","s":9000,"d":"a string"}`,
		`{"op":0,"t":"MESSAGE_CREATE","s":9001,"d":{"id":"1","channel_id":"2"}}`,
		`{"op":0,"t":"MESSAGE_CREATE","s":9002,"d":{"id":"x y","channel_id":"2","author":{"id":"3"},"content":"<@` + fakediscord.BotID + `>"}}`,
		`{"op":0,"t":"INTERACTION_CREATE","s":9003,"d":{"id":"1","type":2,"token":"t","channel_id":"2"}}`,
		`{"op":0,"t":"INTERACTION_CREATE","s":9004,"d":{"id":"1","type":2,"token":"t","channel_id":"2","member":{"user":{"id":"3"}},"data":{"name":"agent","options":[]}}}`,
		`{"op":0,"t":"INTERACTION_CREATE","s":9005,"d":{"id":"1","type":3,"token":"t","channel_id":"2","user":{"id":"3"},"data":{"custom_id":"hotline_approve:"}}}`,
		`{"op":0,"t":"INTERACTION_CREATE","s":9006,"d":{"id":"1","type":2,"token":"t","channel_id":"2","data":[1,2]}}`,
		`{"op":0,"t":"THREAD_CREATE","s":9007,"d":null}`,
		`{"op":0,"t":"MESSAGE_CREATE","s":9008,"d":null}`,
		`{"op":0,"t":"INTERACTION_CREATE","s":9009,"d":null}`,
	} {
		if err := h.srv.SendRaw([]byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	m := h.message(channel, alice, "<@"+fakediscord.BotID+"> still alive", true)
	h.dispatch("MESSAGE_CREATE", m)
	h.waitContents(m["id"].(string), "ECHO: still alive")
	h.settle()
	if n := len(eng.Inbound()); n != 1 {
		t.Errorf("submitted %d, want only the valid message", n)
	}
	for _, c := range h.srv.Calls() {
		if strings.Contains(c.Path, "/callback") {
			t.Errorf("bad interaction was answered: %s", c.Path)
		}
	}
}

func TestFailedTurnShowsError(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	m := h.message(channel, alice, "<@"+fakediscord.BotID+"> FAIL", true)
	h.dispatch("MESSAGE_CREATE", m)
	h.waitContents(m["id"].(string), "❌ the agent crashed")
	h.until("error reaction", func(c []fakediscord.Call) bool {
		return len(find(c, "PUT", "/messages/"+m["id"].(string)+"/reactions/")) == 1
	})
}

func TestHeartbeatsAcknowledged(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	h.srv.SetHeartbeatInterval(250 * time.Millisecond)
	// A fresh connection (after a drop) gets the short interval; without
	// ACKs discordgo would reconnect after five missed intervals.
	h.srv.DropGateway()
	h.until("six heartbeats", func(c []fakediscord.Call) bool { return len(find(c, "WS", "op:1")) >= 7 })
	if r := h.srv.Resumes(); r != 1 {
		t.Errorf("resumes %d: heartbeats were not acknowledged", r)
	}
	if err := h.a.Ready(); err != nil {
		t.Error(err)
	}
}
