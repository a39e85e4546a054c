package discord

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/adapters/discord/fakediscord"
	"github.com/hotline-dev/hotline/adapters/reply"
)

func TestIdentifyIntentsHeartbeatAndCommands(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	ids := h.srv.Identifies()
	if len(ids) != 1 {
		t.Fatalf("identifies = %d, want 1", len(ids))
	}
	var id struct {
		Token   string `json:"token"`
		Intents int    `json:"intents"`
	}
	if err := json.Unmarshal(ids[0], &id); err != nil {
		t.Fatal(err)
	}
	if id.Intents&fakediscord.RequiredIntents != fakediscord.RequiredIntents {
		t.Errorf("intents %b lack %b", id.Intents, fakediscord.RequiredIntents)
	}
	calls := h.until("a heartbeat", func(c []fakediscord.Call) bool { return len(find(c, "WS", "op:1")) > 0 })
	put := find(calls, "PUT", "/applications/"+fakediscord.AppID+"/guilds/"+guild+"/commands")
	if len(put) != 1 {
		t.Fatalf("guild command registration calls = %d", len(put))
	}
	var cmds []struct {
		Name    string `json:"name"`
		Options []struct {
			Name string `json:"name"`
			Type int    `json:"type"`
		} `json:"options"`
	}
	if err := json.Unmarshal(put[0].Body, &cmds); err != nil {
		t.Fatal(err)
	}
	var subs []string
	for _, o := range cmds[0].Options {
		if o.Type != 1 {
			t.Errorf("option %s has type %d, want subcommand", o.Name, o.Type)
		}
		subs = append(subs, o.Name)
	}
	if cmds[0].Name != "agent" || strings.Join(subs, ",") != "ask,new,reset,stop,status,help" {
		t.Errorf("commands = %s %v", cmds[0].Name, subs)
	}
}

func TestMentionStartsThreadAndConversationContinues(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)

	first := h.message(channel, alice, "<@"+fakediscord.BotID+"> hello there", true)
	h.dispatch("MESSAGE_CREATE", first)
	thread := first["id"].(string)
	calls := h.until("thread creation", func(c []fakediscord.Call) bool {
		return len(find(c, "POST", "/channels/"+channel+"/messages/"+thread+"/threads")) == 1
	})
	if n := body(t, find(calls, "POST", "/threads")[0])["name"]; n != "hello there" {
		t.Errorf("thread name %v", n)
	}
	h.waitContents(thread, "ECHO: hello there")

	// In the thread, no mention needed.
	h.dispatch("MESSAGE_CREATE", h.message(thread, bob, "and again", false))
	h.waitContents(thread, "ECHO: hello there", "ECHO: and again")

	// A plain channel message without mention is not for the bot.
	h.dispatch("MESSAGE_CREATE", h.message(channel, alice, "just chatting", false))
	h.dispatch("MESSAGE_CREATE", h.message(thread, alice, "third", false))
	h.waitContents(thread, "ECHO: hello there", "ECHO: and again", "ECHO: third")

	in := eng.Inbound()
	if len(in) != 3 {
		t.Fatalf("submitted %d messages, want 3", len(in))
	}
	wantKey := "discord:" + guild + ":" + channel + ":" + thread
	for _, m := range in {
		if m.Key != wantKey {
			t.Errorf("key %q, want %q", m.Key, wantKey)
		}
	}
	if in[0].Text != "hello there" || in[0].Author != alice || in[0].MessageID != thread {
		t.Errorf("first inbound = %+v", in[0])
	}
	calls = h.until("done reactions and typing", func(c []fakediscord.Call) bool {
		return len(find(c, "PUT", "/reactions/"+emojiDone)) >= 3
	})
	if len(find(calls, "POST", "/channels/"+thread+"/typing")) == 0 {
		t.Error("no typing indicator in the thread")
	}
	for _, c := range find(calls, "POST", "/channels/"+thread+"/messages") {
		if am, ok := body(t, c)["allowed_mentions"].(map[string]any); !ok || len(am["parse"].([]any)) != 0 {
			t.Errorf("reply without allowed_mentions parse []: %s", c.Body)
		}
	}
}

func TestDirectMessageIsOneSessionPerChannel(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	dm := "610000000000000009"
	m := h.message(dm, alice, "hi in private", false)
	delete(m, "guild_id")
	delete(m, "member")
	h.dispatch("MESSAGE_CREATE", m)
	h.waitContents(dm, "ECHO: hi in private")
	if k := eng.Inbound()[0].Key; k != "discord:dm:"+dm+":"+dm {
		t.Errorf("dm key %q", k)
	}
	if n := len(find(h.srv.Calls(), "POST", "/threads")); n != 0 {
		t.Errorf("DM created %d threads", n)
	}
}

func TestOwnAndBotMessagesIgnored(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	own := h.message(channel, fakediscord.BotID, "<@"+fakediscord.BotID+"> echo", true)
	other := h.message(channel, "710000000000000001", "<@"+fakediscord.BotID+"> from a bot", true)
	other["author"].(map[string]any)["bot"] = true
	h.dispatch("MESSAGE_CREATE", own)
	h.dispatch("MESSAGE_CREATE", other)
	marker := h.message(channel, alice, "<@!"+fakediscord.BotID+"> real", true)
	h.dispatch("MESSAGE_CREATE", marker)
	h.waitContents(marker["id"].(string), "ECHO: real")
	if n := len(eng.Inbound()); n != 1 {
		t.Errorf("submitted %d, want 1 (own and bot messages ignored)", n)
	}
}

func TestDuplicateMessageCreateStartsOneTurn(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	m := h.message(channel, alice, "<@"+fakediscord.BotID+"> once", true)
	h.dispatch("MESSAGE_CREATE", m)
	h.dispatch("MESSAGE_CREATE", m)
	thread := m["id"].(string)
	h.waitContents(thread, "ECHO: once")
	// Replayed again after the reply was sent.
	h.dispatch("MESSAGE_CREATE", m)
	after := h.message(thread, alice, "next", false)
	h.dispatch("MESSAGE_CREATE", after)
	h.waitContents(thread, "ECHO: once", "ECHO: next")
	h.settle()
	if n := len(eng.Inbound()); n != 2 {
		t.Errorf("submitted %d, want 2", n)
	}
	if n := len(find(h.srv.Calls(), "POST", "/threads")); n != 1 {
		t.Errorf("threads created %d, want 1", n)
	}
}

func TestLongReplySplitWithBalancedFences(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	m := h.message(channel, alice, "<@"+fakediscord.BotID+"> HUGE:4500", true)
	h.dispatch("MESSAGE_CREATE", m)
	thread := m["id"].(string)
	want := hugeReply(4500)
	if len(want) < 4400 {
		t.Fatalf("test reply only %d bytes", len(want))
	}
	parts := reply.Split(want, messageLimit)
	h.waitContents(thread, parts...)
	if len(parts) < 3 {
		t.Fatalf("4500 chars split into %d parts", len(parts))
	}
	for i, p := range parts {
		if utf8.RuneCountInString(p) > messageLimit {
			t.Errorf("part %d has %d chars", i, utf8.RuneCountInString(p))
		}
		if n := strings.Count(p, "```"); n%2 != 0 {
			t.Errorf("part %d has %d fence markers (unbalanced):\n%s", i, n, p)
		}
		if i > 0 && strings.HasPrefix(p, "```") && !strings.HasPrefix(p, "```go") {
			t.Errorf("part %d reopens the fence without its language", i)
		}
	}
	if got := reply.Join(h.contents(thread)); got != want {
		t.Errorf("joined reply differs from the agent's result (%d vs %d bytes)", len(got), len(want))
	}
	for _, c := range h.srv.Calls() {
		if c.Status == 400 {
			t.Errorf("Discord rejected %s %s: %s", c.Method, c.Path, c.Body)
		}
	}
}

func TestRateLimitedEditLosesNothing(t *testing.T) {
	for _, global := range []bool{false, true} {
		t.Run(map[bool]string{false: "route", true: "global"}[global], func(t *testing.T) {
			eng := newFakeEngine()
			defer eng.Close()
			h := start(t, eng, nil)
			m := h.message(channel, alice, "<@"+fakediscord.BotID+"> STREAM:20", true)
			thread := m["id"].(string)
			// The first edit of the growing message and the post of its
			// continuation are both refused once.
			h.srv.AddFault(fakediscord.Fault{Method: "PATCH", PathHas: "/channels/" + thread + "/messages/", Nth: 1, RetryAfter: 300 * time.Millisecond, Global: global})
			h.srv.AddFault(fakediscord.Fault{Method: "POST", PathHas: "/channels/" + thread + "/messages", Nth: 2, RetryAfter: 200 * time.Millisecond, Global: global})
			h.dispatch("MESSAGE_CREATE", m)
			var words strings.Builder
			for i := 0; i < 20; i++ {
				words.WriteString("word" + strconv.Itoa(i) + " ")
			}
			want := words.String() + hugeReply(2500)
			h.waitContents(thread, reply.Split(want, messageLimit)...)
			calls := h.srv.Calls()
			var limited, after int
			for _, c := range calls {
				if c.Status == 429 {
					limited++
				} else if limited > 0 && strings.Contains(c.Path, "/channels/"+thread+"/messages") {
					after++
				}
			}
			if limited != 2 || after == 0 {
				t.Errorf("429s answered %d, calls after them %d", limited, after)
			}
			if reply.Join(h.contents(thread)) != want {
				t.Error("text lost after the 429")
			}
		})
	}
}

func TestRateLimitMapping(t *testing.T) {
	// A 429 whose body is not JSON (a proxy) still becomes reply.RateLimited
	// with the header's delay, instead of discordgo's bare JSON error.
	srv := fakediscord.New()
	defer srv.Close()
	eng := newFakeEngine()
	defer eng.Close()
	a, err := New(Config{Token: fakediscord.Token, APIURL: srv.URL()}, eng, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer a.transport.CloseIdleConnections()
	srv.AddFault(fakediscord.Fault{Method: "POST", PathHas: "/messages", Nth: 1, RetryAfter: 2 * time.Second, Body: "<html>slow down</html>"})
	_, err = poster{a: a, channel: channel}.Post(t.Context(), "x")
	var rl *reply.RateLimited
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("err = %v (RateLimited %v)", err, rl)
	}
	if _, err := (poster{a: a, channel: channel}).Post(t.Context(), "y"); err != nil {
		t.Fatalf("second post: %v", err)
	}
}

func TestEmptyMentionGetsAHint(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	m := h.message(channel, alice, "<@"+fakediscord.BotID+">  ", true)
	h.dispatch("MESSAGE_CREATE", m)
	h.until("hint", func([]fakediscord.Call) bool {
		for _, c := range h.contents(m["id"].(string)) {
			if strings.HasPrefix(c, "Mention me with a question") {
				return true
			}
		}
		return false
	})
	if n := len(eng.Inbound()); n != 0 {
		t.Errorf("an empty prompt was submitted")
	}
}

func TestRunRetriesUntilCancelledAndReportsNotReady(t *testing.T) {
	srv := fakediscord.New()
	url := srv.URL()
	srv.Close() // nothing listens there now
	eng := newFakeEngine()
	defer eng.Close()
	a, err := New(Config{Token: fakediscord.Token, APIURL: url}, eng, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Ready(); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("before Run: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(waitLong)
	for {
		err := a.Ready()
		if err != nil && strings.Contains(err.Error(), "gateway not connected:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ready = %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(waitLong):
		t.Fatal("Run did not return")
	}
	if err := a.Ready(); err == nil {
		t.Error("ready after shutdown")
	}
	if Intents != 37376 {
		t.Errorf("intents %d, documented as 37376", Intents)
	}
}

func TestGlobalCommandsWithoutGuild(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, func(c *Config) { c.GuildID = "" })
	calls := h.srv.Calls()
	if n := len(find(calls, "PUT", "/applications/"+fakediscord.AppID+"/commands")); n != 1 {
		t.Errorf("global registrations %d", n)
	}
	if n := len(find(calls, "PUT", "/guilds/")); n != 0 {
		t.Errorf("guild registrations %d", n)
	}
}
