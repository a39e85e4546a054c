package discord

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/adapters/discord/fakediscord"
	"github.com/hotline-dev/hotline/adapters/reply"
	"github.com/hotline-dev/hotline/internal/testenv"
)

// End-to-end: real discordgo inside the adapter, the fake Discord on the
// wire, and a real core.Router over mockcli agents.

func mention(text string) string { return "<@" + fakediscord.BotID + "> " + text }

func TestE2EMentionThreadTwoTurns(t *testing.T) {
	h := start(t, testenv.Router(t), nil)
	first := h.message(channel, alice, mention("turn one"), true)
	thread := first["id"].(string)
	h.dispatch("MESSAGE_CREATE", first)
	h.waitContents(thread, "ECHO: turn one")
	if n := len(find(h.srv.Calls(), "POST", "/channels/"+channel+"/messages/"+thread+"/threads")); n != 1 {
		t.Fatalf("threads created: %d", n)
	}
	// No mention in the thread; HISTORY proves it is the same conversation.
	h.dispatch("MESSAGE_CREATE", h.message(thread, bob, "HISTORY", false))
	h.waitContents(thread, "ECHO: turn one", "HISTORY: turn one")
	calls := h.until("done markers", func(c []fakediscord.Call) bool { return len(find(c, "PUT", "/reactions/"+emojiDone+"/@me")) == 2 })
	if len(find(calls, "POST", "/channels/"+thread+"/typing")) == 0 {
		t.Error("no typing indicator")
	}
}

func TestE2ELongReplySplit(t *testing.T) {
	h := start(t, testenv.Router(t), nil)
	m := h.message(channel, alice, mention("HUGE:4500"), true)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	var got []string
	h.until("a complete 4500-byte reply", func([]fakediscord.Call) bool {
		got = h.contents(thread)
		return len(got) >= 3 && len(reply.Join(got)) == 4500 && h.finished(thread)
	})
	final := reply.Join(got)
	if !slicesEqual(got, reply.Split(final, messageLimit)) {
		t.Error("visible messages are not Split(final)")
	}
	if !strings.Contains(final, "```") {
		t.Fatal("HUGE reply has no code fence; the test proves nothing")
	}
	fenceLine := regexp.MustCompile("(?m)^```")
	for i, p := range got {
		if utf8.RuneCountInString(p) > messageLimit {
			t.Errorf("message %d has %d chars", i, utf8.RuneCountInString(p))
		}
		if n := len(fenceLine.FindAllString(p, -1)); n%2 != 0 {
			t.Errorf("message %d has %d fence lines:\n%s", i, n, p)
		}
	}
}

// finished reports whether the turn in thread got its done marker.
func (h *harness) finished(thread string) bool {
	for _, c := range find(h.srv.Calls(), "PUT", "/messages/"+thread+"/reactions/") {
		if strings.Contains(c.Path, emojiDone) || strings.Contains(c.Path, emojiError) {
			return true
		}
	}
	return false
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestE2ERateLimitedEdit(t *testing.T) {
	h := start(t, testenv.Router(t), nil)
	m := h.message(channel, alice, mention("STREAM:40:10"), true)
	thread := m["id"].(string)
	h.srv.AddFault(fakediscord.Fault{Method: "PATCH", PathHas: "/channels/" + thread + "/messages/", Nth: 1, RetryAfter: 250 * time.Millisecond})
	h.dispatch("MESSAGE_CREATE", m)
	var want []string
	for i := 1; i <= 40; i++ {
		want = append(want, "tok"+strconv.Itoa(i))
	}
	h.waitContents(thread, strings.Join(want, " "))
	// The fake changes a message before it logs the call that changed it,
	// so the edit that shows the final text may not be in the log yet; the
	// done marker is set only after the reply's last call has returned.
	h.until("done marker", func([]fakediscord.Call) bool { return h.finished(thread) })
	calls := h.srv.Calls()
	var limited, after int
	for _, c := range calls {
		if c.Status == 429 {
			limited++
		} else if limited > 0 && c.Method == "PATCH" && strings.Contains(c.Path, "/channels/"+thread+"/messages/") {
			after++
		}
	}
	if limited != 1 || after == 0 {
		t.Errorf("429s %d, edits after %d", limited, after)
	}
}

func TestE2EDuplicateMessageCreate(t *testing.T) {
	h := start(t, testenv.Router(t), nil)
	m := h.message(channel, alice, mention("only once"), true)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	h.dispatch("MESSAGE_CREATE", m)
	h.waitContents(thread, "ECHO: only once")
	h.until("done", func([]fakediscord.Call) bool { return h.finished(thread) })
	h.dispatch("MESSAGE_CREATE", m) // replayed after the reply
	h.dispatch("MESSAGE_CREATE", h.message(thread, alice, "HISTORY", false))
	h.waitContents(thread, "ECHO: only once", "HISTORY: only once")
	if n := len(find(h.srv.Calls(), "POST", "/threads")); n != 1 {
		t.Errorf("threads %d", n)
	}
}

func TestE2EGatewayDropMidTurn(t *testing.T) {
	h := start(t, testenv.Router(t), nil)
	m := h.message(channel, alice, mention("SLOW:150 a slow reply that spans the outage"), true)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	h.until("first part of the reply", func(c []fakediscord.Call) bool {
		return len(find(c, "POST", "/channels/"+thread+"/messages")) > 0
	})
	if !h.srv.DropGateway() {
		t.Fatal("no gateway to drop")
	}
	during := h.message(thread, alice, "HISTORY", false)
	h.dispatch("MESSAGE_CREATE", during)
	h.until("RESUME", func(c []fakediscord.Call) bool { return len(find(c, "WS", "op:6")) == 1 })
	h.waitContents(thread, "ECHO: SLOW:150 a slow reply that spans the outage", "HISTORY: SLOW:150 a slow reply that spans the outage")
	h.eventually("ready again", func() bool { return h.a.Ready() == nil && h.srv.Resumes() == 1 })
	if n := len(h.srv.Identifies()); n != 1 {
		t.Errorf("identified %d times", n)
	}
}

func TestE2ESlashCommands(t *testing.T) {
	h := start(t, testenv.Router(t), nil)
	ia := h.interaction(2, channel, alice, slash("ask", map[string]any{"type": 3, "name": "prompt", "value": "from slash"}))
	h.dispatch("INTERACTION_CREATE", ia)
	calls := h.until("deferred and edited", func(c []fakediscord.Call) bool {
		return len(find(c, "POST", "/"+ia["token"].(string)+"/callback")) == 1 &&
			len(find(c, "PATCH", "/"+ia["token"].(string)+"/messages/@original")) == 1 && len(find(c, "POST", "/threads")) == 1
	})
	if typ := body(t, find(calls, "POST", "/callback")[0])["type"]; typ != float64(5) {
		t.Errorf("first answer type %v, want 5", typ)
	}
	thread := h.srv.Messages(channel)[0].ID
	h.waitContents(thread, "ECHO: from slash")
	st := h.interaction(2, thread, alice, slash("status"))
	h.dispatch("INTERACTION_CREATE", st)
	calls = h.until("status answer", func(c []fakediscord.Call) bool {
		return len(find(c, "PATCH", "/"+st["token"].(string)+"/messages/@original")) == 1
	})
	text := body(t, find(calls, "PATCH", "/"+st["token"].(string)+"/messages/@original")[0])["content"].(string)
	if text == "" || strings.Contains(text, "Sorry") {
		t.Errorf("status answer %q", text)
	}
}

func TestE2EApproveAndDeny(t *testing.T) {
	for _, allow := range []bool{true, false} {
		t.Run(strconv.FormatBool(allow), func(t *testing.T) {
			h := start(t, testenv.Router(t), nil)
			m := h.message(channel, alice, mention("TOOL_BASH: git push"), true)
			thread := m["id"].(string)
			h.dispatch("MESSAGE_CREATE", m)
			msg := approvalMessage(h, thread)
			var rows []struct {
				Components []struct {
					CustomID string `json:"custom_id"`
				} `json:"components"`
			}
			if err := json.Unmarshal(msg.Components, &rows); err != nil || len(rows) != 1 || len(rows[0].Components) != 2 {
				t.Fatalf("components %s: %v", msg.Components, err)
			}
			id := rows[0].Components[0].CustomID
			if !strings.HasPrefix(id, approvePrefix) || rows[0].Components[1].CustomID != denyPrefix+strings.TrimPrefix(id, approvePrefix) {
				t.Fatalf("custom ids %+v", rows)
			}
			custom := id
			if !allow {
				custom = rows[0].Components[1].CustomID
			}
			ia := click(h, thread, bob, custom, msg)
			calls := h.until("update", func(c []fakediscord.Call) bool {
				return len(find(c, "POST", "/"+ia["token"].(string)+"/callback")) == 1
			})
			upd := body(t, find(calls, "POST", "/"+ia["token"].(string)+"/callback")[0])
			if upd["type"] != float64(7) {
				t.Errorf("update type %v", upd["type"])
			}
			h.until("turn end", func([]fakediscord.Call) bool { return h.finished(thread) })
			got := h.contents(thread)
			last := got[len(got)-1]
			if allow && last != "TOOL_RESULT: (mock) ran: git push" {
				t.Errorf("after approval the reply is %q", last)
			}
			if !allow && strings.Contains(last, "ran: git push") {
				t.Errorf("after denial the tool ran: %q", last)
			}
		})
	}
}

func TestE2EQueuedMessageAcknowledged(t *testing.T) {
	h := start(t, testenv.Router(t), nil)
	m := h.message(channel, alice, mention("SLOW:100 first and slow"), true)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	h.until("reply started", func(c []fakediscord.Call) bool { return len(find(c, "POST", "/channels/"+thread+"/messages")) > 0 })
	second := h.message(thread, bob, "second", false)
	h.dispatch("MESSAGE_CREATE", second)
	h.waitContents(thread, "ECHO: SLOW:100 first and slow", "ECHO: second")
	// Reactions are sent off the reply path, so wait for the first
	// message's done marker as well before reading the timeline.
	calls := h.until("queued marker set and cleared, first marked done", func(c []fakediscord.Call) bool {
		return len(find(c, "PUT", "/messages/"+second["id"].(string)+"/reactions/"+emojiQueue)) == 1 &&
			len(find(c, "DELETE", "/messages/"+second["id"].(string)+"/reactions/"+emojiQueue)) == 1 &&
			len(find(c, "PUT", "/messages/"+thread+"/reactions/"+emojiDone)) == 1
	})
	// The queued reply starts only after the first one is complete: the
	// first call that showed the whole first reply comes before the second
	// reply's post. (The done reaction is sent off the reply path, so its
	// time proves nothing about the order.)
	var firstDone, secondPost time.Time
	for _, c := range calls {
		if (c.Method == "POST" || c.Method == "PATCH") && strings.HasPrefix(c.Path, "/channels/"+thread+"/messages") &&
			firstDone.IsZero() && body(t, c)["content"] == "ECHO: SLOW:100 first and slow" {
			firstDone = c.Time
		}
	}
	// Each reply is one message: the second POST starts the second reply.
	if posts := find(calls, "POST", "/channels/"+thread+"/messages"); len(posts) == 2 {
		secondPost = posts[1].Time
	}
	if firstDone.IsZero() || secondPost.IsZero() || secondPost.Before(firstDone) {
		t.Errorf("second reply posted at %v, first reply complete at %v", secondPost, firstDone)
	}
}

func TestE2EStopWithdrawsApproval(t *testing.T) { stopWithdraws(t, false) }

// The stop lands while Discord has not yet answered the POST of the
// buttons: they are on screen, so they must still be replaced.
func TestE2EStopDuringApprovalPostWithdraws(t *testing.T) { stopWithdraws(t, true) }

func stopWithdraws(t *testing.T, slowPost bool) {
	h := start(t, testenv.Router(t), nil)
	m := h.message(channel, alice, mention("TOOL_BASH: git push"), true)
	thread := m["id"].(string)
	release := func() {}
	if slowPost {
		release = h.srv.HoldResponses("POST", "/channels/"+thread+"/messages")
		defer release()
	}
	h.dispatch("MESSAGE_CREATE", m)
	msg := approvalMessage(h, thread)
	stop := h.interaction(2, thread, alice, slash("stop"))
	h.dispatch("INTERACTION_CREATE", stop)
	calls := h.until("stop answered", func(c []fakediscord.Call) bool {
		return len(find(c, "PATCH", "/"+stop["token"].(string)+"/messages/@original")) == 1
	})
	if text := body(t, find(calls, "PATCH", "/"+stop["token"].(string)+"/messages/@original")[0])["content"]; text == "" {
		t.Error("empty answer to stop")
	}
	release()
	h.until("buttons replaced by the withdrawal", func([]fakediscord.Call) bool {
		for _, x := range h.srv.Messages(thread) {
			if x.ID == msg.ID {
				return strings.HasSuffix(x.Content, "Request withdrawn") && string(x.Components) == "[]"
			}
		}
		return false
	})
}

func TestE2ECrashShowsErrorAndNextTurnWorks(t *testing.T) {
	h := start(t, testenv.Router(t), nil)
	m := h.message(channel, alice, mention("CRASH"), true)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	h.until("error marker", func(c []fakediscord.Call) bool {
		return len(find(c, "PUT", "/messages/"+thread+"/reactions/"+emojiError)) == 1
	})
	got := h.contents(thread)
	if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], emojiError+" ") {
		t.Fatalf("thread after crash: %q", got)
	}
	h.dispatch("MESSAGE_CREATE", h.message(thread, alice, "after the crash", false))
	h.until("next reply", func([]fakediscord.Call) bool {
		c := h.contents(thread)
		return len(c) > 0 && c[len(c)-1] == "ECHO: after the crash"
	})
}
