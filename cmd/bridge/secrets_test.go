package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
)

// A full run over the fake Slack: the reply arrives, the agent's
// environment holds no bridge secret, and no token appears in the logs.
func TestFullRunKeepsSecretsFromAgentAndLogs(t *testing.T) {
	fake := fakeslack.New(fakeslack.Options{})
	defer fake.Close()
	const bot, app, signing = "xoxb-test-bot-secret-1", "xapp-test-app-secret-2", "signing-secret-3"
	d := newDirs(t)
	b := startBridge(t, d,
		"SLACK_BOT_TOKEN="+bot, "SLACK_APP_TOKEN="+app, "SLACK_SIGNING_SECRET="+signing,
		"SLACK_API_URL="+fake.APIURL(), "REDIS_URL=redis://:redis-pass-5@127.0.0.1:1/0",
		"HOTLINE_AGENT_ENV=SLACK_BOT_TOKEN,MY_TOOL_SETTING", "MY_TOOL_SETTING=passed", "UNLISTED=dropped",
		"ANTHROPIC_API_KEY=sk-ant-passed")
	if !fake.WaitConnected(1, 30*time.Second) {
		t.Fatalf("bridge never opened Socket Mode\n%s", b.logs())
	}
	ts := fakeslack.UserTS()
	msg := fakeslack.Msg{Channel: "C1", User: "U1", Text: "<@" + fakeslack.BotUserID + "> SLOW:300 hello", TS: ts}
	if _, err := fake.Inject(fakeslack.Envelope{Type: "events_api", Payload: fakeslack.MentionEvent(fakeslack.EventID(), msg)}); err != nil {
		t.Fatal(err)
	}
	var env string
	deadline := time.Now().Add(30 * time.Second)
	for env == "" && time.Now().Before(deadline) {
		for _, pid := range agentsUsing(d.home) {
			if e, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err == nil {
				env = strings.ReplaceAll(string(e), "\x00", "\n")
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if env == "" {
		t.Fatalf("no agent started\n%s", b.logs())
	}
	for _, bad := range []string{"SLACK_", "DISCORD_", "REDIS_URL", "HOTLINE_", "UNLISTED", bot, app, signing} {
		if strings.Contains(env, bad) {
			t.Errorf("agent environment holds %q:\n%s", bad, env)
		}
	}
	for _, good := range []string{"MY_TOOL_SETTING=passed", "ANTHROPIC_API_KEY=sk-ant-passed", "HOME=" + d.home} {
		if !strings.Contains(env, good) {
			t.Errorf("agent environment lacks %q:\n%s", good, env)
		}
	}
	if !fake.WaitUntil(func() bool {
		for _, m := range fake.Messages("C1") {
			if m.ThreadTS == ts && m.Text == "ECHO: SLOW:300 hello" {
				return true
			}
		}
		return false
	}, 30*time.Second) {
		t.Fatalf("no reply in the thread: %+v\n%s", fake.Messages("C1"), b.logs())
	}
	// The fake shows a message as soon as it handles the call; the bridge
	// counts the call only when the answer is back, so poll for the counts.
	wants := []string{`hotline_platform_api_calls_total{method="auth.test",platform="slack",status="200"}`, `hotline_platform_api_calls_total{method="chat.postMessage",platform="slack",status="200"}`}
	var missing []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, m := get(t, "http://"+b.addr+"/metrics")
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(m, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range missing {
		t.Errorf("metrics lack %s", want)
	}
	b.signal(syscall.SIGTERM)
	if code := b.wait(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	logs := b.logs()
	if !strings.Contains(logs, "session_key") {
		t.Fatalf("logs too thin to prove anything:\n%s", logs)
	}
	for _, secret := range []string{bot, app, signing, "redis-pass-5"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log output contains secret %q", secret)
		}
	}
}
