package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/waf"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ env, val, want string }{
		{"HOTLINE_IDLE_TIMEOUT", "soon", "HOTLINE_IDLE_TIMEOUT"},
		{"HOTLINE_QUEUE_DEPTH", "-1", "HOTLINE_QUEUE_DEPTH"},
		{"SLACK_API_URL", "https://slack.example/api", "SLACK_API_URL: must end in /"},
		{"REDIS_URL", "http://x", "REDIS_URL"},
		{"HOTLINE_AGENT", "gpt", "HOTLINE_AGENT"},
		{"HOTLINE_WORKDIR_PER_CHANNEL", "maybe", "HOTLINE_WORKDIR_PER_CHANNEL"},
		{"SLACK_BOT_TOKEN", "xoxb-1", "SLACK_APP_TOKEN"},
		{"HOTLINE_WAF_POLICIES", "slack:T1=medium:maybe", "HOTLINE_WAF_POLICIES"},
	} {
		var stderr bytes.Buffer
		code := run(nil, env(map[string]string{tc.env: tc.val}), strings.NewReader(""), &bytes.Buffer{}, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s=%s: exit %d, stderr %q; want 2 naming %s", tc.env, tc.val, code, stderr.String(), tc.want)
		}
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	c, _, err := LoadConfig([]string{"-idle-timeout", "5m", "-slack-allowed-users", "U1, U2"}, env(map[string]string{"HOTLINE_IDLE_TIMEOUT": "1m"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.IdleTimeout.String() != "5m0s" || len(c.SlackAllowedUsers) != 2 || c.SlackAllowedUsers[1] != "U2" {
		t.Fatalf("config %+v", c)
	}
	if c.ShutdownGrace.String() != "10s" || c.HTTPAddr != "127.0.0.1:8080" || c.QueueDepth != 16 {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

// Every setting is documented in the README and in .env.example.
func TestSettingsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(string(readme), "`"+s.env+"`") {
			t.Errorf("README lacks %s", s.env)
		}
		if !strings.Contains(string(example), "\n"+s.env+"=") {
			t.Errorf(".env.example lacks %s", s.env)
		}
	}
}

func TestPoliciesParse(t *testing.T) {
	p, err := parsePolicies("slack:T1:C2=medium:deny, high:ask; discord:G1=low:ask")
	if err != nil {
		t.Fatal(err)
	}
	if p["slack:T1:C2"][waf.Medium] != waf.Deny || p["slack:T1:C2"][waf.High] != waf.Ask || p["discord:G1"][waf.Low] != waf.Ask {
		t.Fatalf("policies %v", p)
	}
}

func TestRedactorHidesSecrets(t *testing.T) {
	var out bytes.Buffer
	log, err := newLogger(Config{LogLevel: "info", LogFormat: "json", SlackBotToken: "xoxb-secret-123", DiscordToken: "discord-tok-456"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	log.WithField("auth", "Bot discord-tok-456").WithError(os.ErrNotExist).Info("calling with xoxb-secret-123")
	if s := out.String(); strings.Contains(s, "xoxb-secret-123") || strings.Contains(s, "discord-tok-456") || !strings.Contains(s, "[REDACTED]") {
		t.Fatalf("log line %s", s)
	}
}
