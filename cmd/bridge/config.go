package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/waf"
)

// Config is the bridge's whole configuration. Every field comes from an
// environment variable with a matching flag (flags win); see settings.
type Config struct {
	SlackBotToken, SlackAppToken, SlackSigningSecret, SlackAPIURL string
	SlackEditInterval                                             time.Duration
	SlackAllowedUsers, SlackAllowedChannels, SlackListenChannels  []string
	SlackSlashCommand                                             string

	DiscordToken, DiscordAppID, DiscordGuildID, DiscordAPIURL        string
	DiscordEditInterval                                              time.Duration
	DiscordAllowedUsers, DiscordAllowedRoles, DiscordAllowedChannels []string
	DiscordListenChannels                                            []string

	RedisURL, RedisPrefix string
	DataDir               string

	Agent, AgentPath, AgentHome, Model string
	WorkDir                            string
	WorkDirPerChannel                  bool
	AgentEnv                           []string

	HTTPAddr         string
	LogFormat        string
	LogLevel         string
	WAFRules         string
	WAFPolicies      map[string]waf.Policy
	WAFScreenPrompts bool

	IdleTimeout, TurnTimeout, ApprovalTimeout, ShutdownGrace time.Duration
	QueueDepth, MaxSessions                                  int
	Retention                                                time.Duration
}

// setting is one configuration variable.
type setting struct {
	env, def, help string
	set            func(c *Config, v string) error
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func list(p func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = splitList(v); return nil }
}

func dur(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive Go duration such as 30s or 10m, got %q", v)
		}
		*p(c) = d
		return nil
	}
}

func num(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("want a positive whole number, got %q", v)
		}
		*p(c) = n
		return nil
	}
}

func boolean(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*p(c) = b
		return nil
	}
}

var settings = []setting{
	{"SLACK_BOT_TOKEN", "", "Slack bot token (xoxb-…)", str(func(c *Config) *string { return &c.SlackBotToken })},
	{"SLACK_APP_TOKEN", "", "Slack app-level token (xapp-…) for Socket Mode", str(func(c *Config) *string { return &c.SlackAppToken })},
	{"SLACK_SIGNING_SECRET", "", "Slack signing secret for the HTTP Events API", str(func(c *Config) *string { return &c.SlackSigningSecret })},
	{"SLACK_API_URL", "https://slack.com/api/", "Slack Web API base, ending in /", str(func(c *Config) *string { return &c.SlackAPIURL })},
	{"SLACK_EDIT_INTERVAL", "1s", "minimum time between edits of a streamed Slack reply", dur(func(c *Config) *time.Duration { return &c.SlackEditInterval })},
	{"SLACK_ALLOWED_USERS", "", "Slack user ids allowed to use the bot (empty: everyone)", list(func(c *Config) *[]string { return &c.SlackAllowedUsers })},
	{"SLACK_ALLOWED_CHANNELS", "", "Slack channel ids the bot answers in (empty: all)", list(func(c *Config) *[]string { return &c.SlackAllowedChannels })},
	{"SLACK_LISTEN_CHANNELS", "", "Slack channels where any message starts a conversation, no mention needed", list(func(c *Config) *[]string { return &c.SlackListenChannels })},
	{"SLACK_SLASH_COMMAND", "/agent", "the Slack slash command's name", str(func(c *Config) *string { return &c.SlackSlashCommand })},
	{"DISCORD_TOKEN", "", "Discord bot token", str(func(c *Config) *string { return &c.DiscordToken })},
	{"DISCORD_APP_ID", "", "Discord application id", str(func(c *Config) *string { return &c.DiscordAppID })},
	{"DISCORD_GUILD_ID", "", "Discord guild for command registration (empty: global commands)", str(func(c *Config) *string { return &c.DiscordGuildID })},
	{"DISCORD_API_URL", "https://discord.com/", "Discord base URL without the API path", str(func(c *Config) *string { return &c.DiscordAPIURL })},
	{"DISCORD_EDIT_INTERVAL", "1s", "minimum time between edits of a streamed Discord reply", dur(func(c *Config) *time.Duration { return &c.DiscordEditInterval })},
	{"DISCORD_ALLOWED_USERS", "", "Discord user ids allowed (empty: everyone)", list(func(c *Config) *[]string { return &c.DiscordAllowedUsers })},
	{"DISCORD_ALLOWED_ROLES", "", "Discord role ids allowed (empty: any)", list(func(c *Config) *[]string { return &c.DiscordAllowedRoles })},
	{"DISCORD_ALLOWED_CHANNELS", "", "Discord channel ids the bot answers in (empty: all)", list(func(c *Config) *[]string { return &c.DiscordAllowedChannels })},
	{"DISCORD_LISTEN_CHANNELS", "", "Discord channels where any message starts a conversation", list(func(c *Config) *[]string { return &c.DiscordListenChannels })},
	{"REDIS_URL", "", "Redis for session metadata, e.g. redis://127.0.0.1:6379/0 (empty: embedded file store)", str(func(c *Config) *string { return &c.RedisURL })},
	{"HOTLINE_REDIS_PREFIX", "hotline:", "prefix of every Redis key", str(func(c *Config) *string { return &c.RedisPrefix })},
	{"HOTLINE_DATA_DIR", "./.data", "embedded store and agent bookkeeping (pid files)", str(func(c *Config) *string { return &c.DataDir })},
	{"HOTLINE_AGENT", "", "claude, opencode or mock (empty: claude if found on PATH, else mock)", str(func(c *Config) *string { return &c.Agent })},
	{"HOTLINE_AGENT_PATH", "", "the agent binary (default: claude on PATH, or mockcli)", str(func(c *Config) *string { return &c.AgentPath })},
	{"HOTLINE_AGENT_HOME", "", "HOME for agent processes (empty: the bridge's HOME)", str(func(c *Config) *string { return &c.AgentHome })},
	{"HOTLINE_MODEL", "", "model passed to the agent (--model)", str(func(c *Config) *string { return &c.Model })},
	{"HOTLINE_WORKDIR", ".", "the agent's working directory", str(func(c *Config) *string { return &c.WorkDir })},
	{"HOTLINE_WORKDIR_PER_CHANNEL", "false", "one sub-directory of HOTLINE_WORKDIR per channel", boolean(func(c *Config) *bool { return &c.WorkDirPerChannel })},
	{"HOTLINE_AGENT_ENV", "", "extra environment variable names passed to the agent", list(func(c *Config) *[]string { return &c.AgentEnv })},
	{"HOTLINE_HTTP_ADDR", "127.0.0.1:8080", "listen address of /healthz, /readyz, /metrics (and /slack/events)", str(func(c *Config) *string { return &c.HTTPAddr })},
	{"HOTLINE_LOG_FORMAT", "", "json or text (empty: text on a terminal, json otherwise)", str(func(c *Config) *string { return &c.LogFormat })},
	{"HOTLINE_LOG_LEVEL", "info", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })},
	{"HOTLINE_WAF_RULES", "", "operator firewall rule file merged over the built-in rules", str(func(c *Config) *string { return &c.WAFRules })},
	{"HOTLINE_WAF_POLICIES", "", "per-scope severity→action overrides: scope=severity:action,…;scope=…, e.g. slack:T1:C2=medium:deny", func(c *Config, v string) error {
		p, err := parsePolicies(v)
		c.WAFPolicies = p
		return err
	}},
	{"HOTLINE_WAF_SCREEN_PROMPTS", "false", "also judge users' prompts with the firewall", boolean(func(c *Config) *bool { return &c.WAFScreenPrompts })},
	{"HOTLINE_IDLE_TIMEOUT", "30m", "stop a thread's agent after this long without messages (it resumes on the next one)", dur(func(c *Config) *time.Duration { return &c.IdleTimeout })},
	{"HOTLINE_TURN_TIMEOUT", "10m", "interrupt a turn that runs longer", dur(func(c *Config) *time.Duration { return &c.TurnTimeout })},
	{"HOTLINE_QUEUE_DEPTH", "16", "messages a thread may queue behind the running turn", num(func(c *Config) *int { return &c.QueueDepth })},
	{"HOTLINE_MAX_SESSIONS", "100", "warm agents at once (least recently used idle ones are stopped first)", num(func(c *Config) *int { return &c.MaxSessions })},
	{"HOTLINE_APPROVAL_TIMEOUT", "5m", "deny a permission request nobody answers within this", dur(func(c *Config) *time.Duration { return &c.ApprovalTimeout })},
	{"HOTLINE_SHUTDOWN_GRACE", "10s", "on SIGTERM, how long running turns may finish", dur(func(c *Config) *time.Duration { return &c.ShutdownGrace })},
	{"HOTLINE_RETENTION", "720h", "how long session records are kept", dur(func(c *Config) *time.Duration { return &c.Retention })},
}

// flagName is the flag matching an environment variable: SLACK_BOT_TOKEN → -slack-bot-token.
func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "HOTLINE_")), "_", "-")
}

// LoadConfig reads defaults, then the environment, then flags. An invalid
// value is an error naming its variable.
func LoadConfig(args []string, getenv func(string) string) (Config, Mode, error) {
	var c Config
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	check := fs.Bool("check", false, "validate the configuration, test connectivity and exit")
	health := fs.Bool("healthcheck", false, "ask a running bridge's /healthz (at HOTLINE_HTTP_ADDR) and exit 0 if it answers")
	vals := make([]*string, len(settings))
	for i, s := range settings {
		vals[i] = fs.String(flagName(s.env), "", fmt.Sprintf("%s (env %s, default %q)", s.help, s.env, s.def))
	}
	if err := fs.Parse(args); err != nil {
		return c, ModeRun, err
	}
	var errs []error
	for i, s := range settings {
		v, from := s.def, "default"
		if e := getenv(s.env); e != "" {
			v, from = e, "environment"
		}
		if *vals[i] != "" {
			v, from = *vals[i], "flag -"+flagName(s.env)
		}
		if v == "" {
			continue
		}
		if err := s.set(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", s.env, from, err))
		}
	}
	errs = append(errs, c.validate()...)
	mode := ModeRun
	switch {
	case *health:
		mode = ModeHealthcheck
	case *check:
		mode = ModeCheck
	}
	return c, mode, errors.Join(errs...)
}

// Mode is what the bridge was asked to do.
type Mode int

const (
	ModeRun         Mode = iota
	ModeCheck            // -check: validate, probe connectivity, exit
	ModeHealthcheck      // -healthcheck: probe a running bridge, exit
)

func (c *Config) validate() []error {
	var errs []error
	bad := func(env, msg string) { errs = append(errs, fmt.Errorf("%s: %s", env, msg)) }
	if !strings.HasSuffix(c.SlackAPIURL, "/") {
		bad("SLACK_API_URL", "must end in /")
	}
	if u, err := url.Parse(c.DiscordAPIURL); err != nil || u.Scheme == "" || u.Host == "" {
		bad("DISCORD_API_URL", "must be an absolute URL such as https://discord.com/")
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("REDIS_URL", "must be a redis:// or rediss:// URL")
		}
	}
	switch c.Agent {
	case "", "claude", "opencode", "mock":
	default:
		bad("HOTLINE_AGENT", fmt.Sprintf("must be claude, opencode or mock, got %q", c.Agent))
	}
	switch c.LogFormat {
	case "", "json", "text":
	default:
		bad("HOTLINE_LOG_FORMAT", fmt.Sprintf("must be json or text, got %q", c.LogFormat))
	}
	if c.SlackAppToken != "" && c.SlackBotToken == "" || c.SlackSigningSecret != "" && c.SlackBotToken == "" {
		bad("SLACK_BOT_TOKEN", "is required with SLACK_APP_TOKEN or SLACK_SIGNING_SECRET")
	}
	if c.SlackBotToken != "" && c.SlackAppToken == "" && c.SlackSigningSecret == "" {
		bad("SLACK_APP_TOKEN", "or SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN")
	}
	return errs
}

// parsePolicies reads "scope=severity:action,…;scope=…".
func parsePolicies(v string) (map[string]waf.Policy, error) {
	out := map[string]waf.Policy{}
	for _, part := range strings.Split(v, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		scope, pairs, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want scope=severity:action", part)
		}
		pol := waf.Policy{}
		for _, pair := range splitList(pairs) {
			sev, act, ok := strings.Cut(pair, ":")
			if !ok {
				return nil, fmt.Errorf("%q: want severity:action", pair)
			}
			s, err := waf.ParseSeverity(sev)
			if err != nil {
				return nil, err
			}
			a, err := waf.ParseAction(act)
			if err != nil {
				return nil, err
			}
			pol[s] = a
		}
		out[strings.TrimSpace(scope)] = pol
	}
	return out, nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Secrets are the values that must never reach logs.
func (c *Config) Secrets() []string {
	return []string{c.SlackBotToken, c.SlackAppToken, c.SlackSigningSecret, c.DiscordToken, redisPassword(c.RedisURL)}
}

func redisPassword(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return ""
	}
	pw, _ := p.User.Password()
	return pw
}
