package slack

import (
	"errors"
	"fmt"
	"github.com/hotline-dev/hotline/adapters/apimetrics"
	"net/url"
	"strings"
	"time"
)

// Config is the Slack adapter's configuration; the field comments name the
// environment variables (see DESIGN.md) the bridge maps onto them.
type Config struct {
	BotToken      string // SLACK_BOT_TOKEN (xoxb-…)
	AppToken      string // SLACK_APP_TOKEN (xapp-…): Socket Mode; empty: HTTP Events API only
	SigningSecret string // SLACK_SIGNING_SECRET: verifies HTTPHandler requests

	APIURL          string              // SLACK_API_URL, must end in "/"; default https://slack.com/api/
	EditInterval    time.Duration       // SLACK_EDIT_INTERVAL, default 1s
	AllowedUsers    []string            // SLACK_ALLOWED_USERS (empty: everyone)
	AllowedChannels []string            // SLACK_ALLOWED_CHANNELS (empty: every channel)
	ListenChannels  []string            // top-level messages here start a conversation without a mention
	SlashCommand    string              // default "/agent"
	AllowBots       bool                // answer other bots' messages (never our own)
	APICalls        apimetrics.Observer // optional: told of every Web API call (metrics)
}

// DefaultAPIURL is Slack's own Web API base.
const DefaultAPIURL = "https://slack.com/api/"

func (c *Config) applyDefaults() {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if c.EditInterval == 0 {
		c.EditInterval = time.Second
	}
	if c.SlashCommand == "" {
		c.SlashCommand = "/agent"
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.BotToken == "" {
		errs = append(errs, errors.New("SLACK_BOT_TOKEN is required"))
	} else if !strings.HasPrefix(c.BotToken, "xoxb-") {
		errs = append(errs, errors.New("SLACK_BOT_TOKEN must be a bot token (xoxb-…)"))
	}
	if c.AppToken != "" && !strings.HasPrefix(c.AppToken, "xapp-") {
		errs = append(errs, errors.New("SLACK_APP_TOKEN must be an app-level token (xapp-…)"))
	}
	if c.AppToken == "" && c.SigningSecret == "" {
		errs = append(errs, errors.New("SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP Events API) is required"))
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		errs = append(errs, errors.New("SLACK_API_URL must end in /"))
	} else if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("SLACK_API_URL must be an http(s) URL, got %q", c.APIURL))
	}
	if c.EditInterval < 0 {
		errs = append(errs, errors.New("SLACK_EDIT_INTERVAL must not be negative"))
	}
	if !strings.HasPrefix(c.SlashCommand, "/") || strings.ContainsAny(c.SlashCommand, " \t\n") {
		errs = append(errs, fmt.Errorf("slash command must look like /name, got %q", c.SlashCommand))
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
