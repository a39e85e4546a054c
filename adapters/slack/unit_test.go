package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/adapters/reply"
	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
)

func TestNewValidatesConfig(t *testing.T) {
	eng := newScriptEngine()
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{AppToken: "xapp-1"}, "SLACK_BOT_TOKEN is required"},
		{Config{BotToken: "xoxp-1", AppToken: "xapp-1"}, "SLACK_BOT_TOKEN must be a bot token"},
		{Config{BotToken: "xoxb-1", AppToken: "xoxb-2"}, "SLACK_APP_TOKEN must be an app-level token"},
		{Config{BotToken: "xoxb-1"}, "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET"},
		{Config{BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: "https://slack.example/api"}, "SLACK_API_URL must end in /"},
		{Config{BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: "ftp://x/"}, "SLACK_API_URL must be an http(s) URL"},
		{Config{BotToken: "xoxb-1", AppToken: "xapp-1", EditInterval: -1}, "SLACK_EDIT_INTERVAL"},
		{Config{BotToken: "xoxb-1", AppToken: "xapp-1", SlashCommand: "agent"}, "slash command"},
	} {
		_, err := New(tc.cfg, eng, testLog())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to mention %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "xoxb-1") {
			t.Errorf("error leaks the token: %v", err)
		}
	}
	if _, err := New(Config{BotToken: "xoxb-1", AppToken: "xapp-1"}, nil, nil); err == nil {
		t.Error("nil engine accepted")
	}
	a, err := New(Config{BotToken: "xoxb-1", SigningSecret: "s"}, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.cfg.APIURL != DefaultAPIURL || a.cfg.SlashCommand != "/agent" || a.cfg.EditInterval.Seconds() != 1 || a.Name() != "slack" {
		t.Errorf("defaults not applied: %+v", a.cfg)
	}
	if a.Ready() == nil {
		t.Error("ready before Run")
	}
}

// HTTP-only mode (no app token): ready once auth.test passed.
func TestHTTPOnlyModeReady(t *testing.T) {
	h := newHarness(t, newScriptEngine(), func(c *Config) { c.AppToken = "" })
	if h.fake.Count("apps.connections.open") != 0 {
		t.Fatal("opened socket mode without an app token")
	}
}

// auth.test failing at start-up shows in Ready, naming the variable, and is retried.
func TestAuthRetried(t *testing.T) {
	fake := fakeslack.New(fakeslack.Options{})
	defer fake.Close()
	fake.FailNth("auth.test", 1, fakeslack.Fault{SlackError: "invalid_auth"})
	a, err := New(baseConfig(fake), newScriptEngine(), testLog())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if !fake.WaitUntil(func() bool { e := a.Ready(); return e != nil && strings.Contains(e.Error(), "SLACK_BOT_TOKEN") }, wait) {
		t.Fatalf("Ready during auth failure: %v", a.Ready())
	}
	if strings.Contains(a.Ready().Error(), "xoxb-test") {
		t.Fatal("Ready leaks the token")
	}
	if !fake.WaitUntil(func() bool { return a.Ready() == nil }, wait) {
		t.Fatalf("not ready after retry: %v", a.Ready())
	}
	if n := fake.Count("auth.test"); n != 2 {
		t.Fatalf("%d auth.test calls, want 2", n)
	}
}

func TestRateLimitMapping(t *testing.T) {
	for _, tc := range []struct {
		err   error
		rl    bool
		after float64
	}{
		{&slack.RateLimitedError{RetryAfter: 3e9}, true, 3},
		{slack.StatusCodeError{Code: 429, Status: "429"}, true, 0},
		{slack.SlackErrorResponse{Err: "ratelimited"}, true, 0},
		{slack.SlackErrorResponse{Err: "channel_not_found"}, false, 0},
		{errors.New("boom"), false, 0},
	} {
		var rl *reply.RateLimited
		got := errors.As(rateLimit(tc.err), &rl)
		if got != tc.rl || (got && rl.RetryAfter.Seconds() != tc.after) {
			t.Errorf("%v: rate limited %v (%+v), want %v after %vs", tc.err, got, rl, tc.rl, tc.after)
		}
	}
	if rateLimit(nil) != nil {
		t.Error("nil error mapped to non-nil")
	}
}

func TestStripMention(t *testing.T) {
	for in, want := range map[string]string{
		"<@UBOT> hello":              "hello",
		"<@UBOT|hotline>  hi there ": "hi there",
		"ask <@UBOT> about <@U2>":    "ask  about <@U2>",
		"no mention\n\n  kept":       "no mention\n\n  kept",
		"<@UBOTX> other":             "<@UBOTX> other",
		"<@UBOT|unclosed":            "<@UBOT|unclosed",
		"<@UBOT><@UBOT>twice":        "twice",
	} {
		if got := stripMention(in, "UBOT"); got != want {
			t.Errorf("stripMention(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLRUEvicts(t *testing.T) {
	c := newLRU[int](2)
	c.Put("a", 1)
	c.Put("b", 2)
	c.Get("a")
	c.Put("c", 3)
	if _, ok := c.Get("b"); ok {
		t.Error("b should have been evicted (least recently used)")
	}
	if v, ok := c.Get("a"); !ok || v != 1 || c.Len() != 2 {
		t.Errorf("a = %v %v, len %d", v, ok, c.Len())
	}
}

func TestDecodeEvent(t *testing.T) {
	raw, _ := json.Marshal(fakeslack.MessageEvent("Ev1", fakeslack.Msg{Channel: "C1", User: "U1", Text: "hi", TS: "1.2", ThreadTS: "1.1"}))
	ev, err := decodeEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	if ev.EventID != "Ev1" || ev.Team != fakeslack.TeamID || ev.Channel != "C1" || ev.TS != "1.2" || ev.ThreadTS != "1.1" || ev.Text != "hi" || ev.Type != "message" {
		t.Errorf("decoded %+v", ev)
	}
	for raw, unsupported := range map[string]bool{
		`{"type":"event_callback","event_id":"E","team_id":"T","event":{"type":"reaction_added"}}`: true,
		`{"type":"app_rate_limited"}`: true,
		`{"type":"url_verification"}`: false,
		`{"type":"event_callback"}`:   false,
		`[]`:                          false,
		`{"type":"event_callback","event":{"type":"message","channel":"C","ts":"1"}}`: false,
	} {
		_, err := decodeEvent([]byte(raw))
		if err == nil || errors.Is(err, errUnsupported) != unsupported {
			t.Errorf("%s: err %v, want unsupported=%v", raw, err, unsupported)
		}
	}
}

func TestDecodeInteraction(t *testing.T) {
	raw, _ := json.Marshal(fakeslack.BlockAction(actionDeny, "req-1", "C1", "9.9", "9.1", "U1"))
	it, err := decodeInteraction(raw)
	if err != nil {
		t.Fatal(err)
	}
	if it.ActionID != actionDeny || it.Value != "req-1" || it.Channel != "C1" || it.MessageTS != "9.9" || it.ThreadTS != "9.1" || it.User != "U1" || it.Team != fakeslack.TeamID {
		t.Errorf("decoded %+v", it)
	}
	if _, err := decodeInteraction([]byte(`{"type":"view_submission"}`)); !errors.Is(err, errUnsupported) {
		t.Errorf("view_submission: %v", err)
	}
}

func seedEvents(f *testing.F) {
	for _, v := range []any{
		fakeslack.MentionEvent("Ev1", fakeslack.Msg{Channel: "C1", User: "U1", Text: "<@UBOT> hi", TS: "1.1"}),
		fakeslack.MessageEvent("Ev2", fakeslack.Msg{Channel: "D1", ChannelType: "im", User: "U1", Text: "dm", TS: "1.2", ThreadTS: "1.0"}),
		fakeslack.MessageEvent("Ev3", fakeslack.Msg{Channel: "C1", User: "U1", BotID: "B1", Subtype: "bot_message", Text: "beep", TS: "1.3"}),
		map[string]any{"type": "url_verification", "challenge": "abc", "token": "t"},
		fakeslack.Callback("Ev4", map[string]any{"type": "reaction_added", "user": "U1"}),
		fakeslack.MessageEvent("Ev5", fakeslack.Msg{Channel: "C1", User: "U1", Text: "look", TS: "1.4", Files: []fakeslack.File{
			{ID: "F1", Name: "a.png", Mimetype: "image/png", Size: 3, Mode: "hosted",
				URL: "https://files.slack.com/files-pri/T-F1/a.png", Download: "https://files.slack.com/files-pri/T-F1/download/a.png"},
			{ID: "F2", Name: "gone", Mode: "tombstone"}}}),
	} {
		b, _ := json.Marshal(v)
		f.Add(b)
	}
	f.Add([]byte(`{"type":"event_callback","event":null}`))
	f.Add([]byte(`{"type":1}`))
	f.Add([]byte(`{"type":"event_callback","event_id":"E","team_id":"T","event":{"type":"message","channel":"C","ts":"1","files":[1,{"size":"x"},{"size":-1,"url_private":"u"}]}}`))
	f.Add([]byte(`{"type":"event_callback","event_id":"E","team_id":"T","event":{"type":"app_mention","channel":"C","ts":"1","files":{"id":"F"}}}`))
}

func FuzzDecodeEvent(f *testing.F) {
	seedEvents(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := decodeEvent(raw)
		if err != nil {
			return
		}
		switch ev.Outer {
		case "url_verification":
			if ev.Challenge == "" {
				t.Fatal("url_verification accepted without challenge")
			}
		case "event_callback":
			if ev.EventID == "" || ev.Team == "" || ev.Channel == "" || ev.TS == "" {
				t.Fatalf("accepted an event missing ids: %+v", ev)
			}
			if ev.Type != "message" && ev.Type != "app_mention" {
				t.Fatalf("accepted inner type %q", ev.Type)
			}
		default:
			t.Fatalf("accepted outer type %q", ev.Outer)
		}
		if len(ev.Files) > maxFileRefs || ev.MoreFiles < 0 {
			t.Fatalf("%d file refs, %d more", len(ev.Files), ev.MoreFiles)
		}
		for _, f := range ev.Files {
			if (f.Bad == "" && f.URL == "") || f.Name == "" || utf8.RuneCountInString(f.Name) > 81 || f.Size < 0 && f.Bad == "" {
				t.Fatalf("unusable file ref accepted: %+v", f)
			}
		}
		if got := stripMention(ev.Text, "UBOT"); len(got) > len(ev.Text) {
			t.Fatalf("stripMention grew %q to %q", ev.Text, got)
		}
	})
}

func FuzzDecodeInteraction(f *testing.F) {
	for _, v := range []any{
		fakeslack.BlockAction(actionApprove, "req-1", "C1", "1.1", "1.0", "U1"),
		fakeslack.BlockAction(actionDeny, "", "C1", "1.1", "", "U1"),
		map[string]any{"type": "block_actions", "actions": []any{}},
		map[string]any{"type": "view_submission"},
	} {
		b, _ := json.Marshal(v)
		f.Add(b)
	}
	f.Add([]byte(`{"type":"block_actions","actions":[{"action_id":1}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		it, err := decodeInteraction(raw)
		if err != nil {
			return
		}
		if it.User == "" || it.Channel == "" || it.MessageTS == "" {
			t.Fatalf("accepted an interaction missing ids: %+v", it)
		}
	})
}
