// Package opencode drives OpenCode (https://opencode.ai) for hotline: one
// warm `opencode serve` process for the whole bridge, one OpenCode session
// per thread, events from the server's SSE bus. An *Agent has the same
// methods as *proc.Process, so core treats both kinds alike.
package opencode

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

const (
	defaultStopGrace    = 3 * time.Second
	defaultStartTimeout = 2 * time.Minute // a cold first start on a busy host loads a 180 MB binary and its plugins
)

// PermissionRule is one entry of an OpenCode permission ruleset.
type PermissionRule struct {
	Permission string `json:"permission"` // bash, edit, webfetch, external_directory, …
	Pattern    string `json:"pattern"`    // glob over the command or path
	Action     string `json:"action"`     // allow, ask or deny
}

// DefaultPermission makes every shell command and file edit ask, whatever
// the operator's opencode.json says, so that each reaches the bridge's
// firewall and, without its verdict, a human (as with Claude Code's default
// permission mode).
var DefaultPermission = []PermissionRule{
	{Permission: "bash", Pattern: "*", Action: "ask"},
	{Permission: "edit", Pattern: "*", Action: "ask"},
}

// Config configures the OpenCode server and its sessions.
type Config struct {
	Path string // the opencode binary (required)
	Dir  string // the server's working directory and the sessions' directory ("" = inherit)
	// DirFor, when set, gives a thread its own directory (e.g. one per
	// channel); "" means Dir.
	DirFor func(key string) (string, error)
	Home   string // HOME for the server ("" = the parent's)

	// Env is the environment to filter (nil: os.Environ()); only
	// proc.AgentEnv's allow-list for OpenCode and PassEnv reach the server.
	Env     []string
	PassEnv []string

	ConfigFile string           // passed as OPENCODE_CONFIG ("" = OpenCode's own lookup)
	Model      string           // "provider/model" for every prompt ("" = the configured default)
	Agent      string           // OpenCode agent ("" = its default, build)
	Permission []PermissionRule // each session's ruleset; nil: DefaultPermission

	Log          logrus.FieldLogger // nil: discard
	StopGrace    time.Duration      // wait per stop stage; 0: 3s
	StartTimeout time.Duration      // wait for the server to listen; 0: 2m
	ExtraArgs    []string           // appended to `opencode serve …`
}

func (c *Config) defaults() error {
	if c.Path == "" {
		return errors.New("opencode: Config.Path (the opencode binary) is required")
	}
	if c.Model != "" {
		if p, m, ok := strings.Cut(c.Model, "/"); !ok || p == "" || m == "" {
			return fmt.Errorf("opencode: model %q must be provider/model", c.Model)
		}
	}
	for _, r := range c.Permission {
		switch r.Action {
		case "allow", "ask", "deny":
		default:
			return fmt.Errorf("opencode: permission %q: action must be allow, ask or deny, got %q", r.Permission, r.Action)
		}
	}
	if c.Permission == nil {
		c.Permission = DefaultPermission
	}
	if c.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		c.Log = l
	}
	if c.StopGrace <= 0 {
		c.StopGrace = defaultStopGrace
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = defaultStartTimeout
	}
	return nil
}

// model splits Model for the prompt body; nil when unset.
func (c *Config) model() map[string]string {
	p, m, ok := strings.Cut(c.Model, "/")
	if !ok {
		return nil
	}
	return map[string]string{"providerID": p, "modelID": m}
}
