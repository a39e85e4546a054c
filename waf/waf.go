// Package waf is hotline's command firewall: it judges the shell commands and
// file writes an agent asks to perform (and, optionally, user prompts) and
// answers allow, ask (a human decides) or deny, naming the rule that fired.
//
// Rules are data (rules.txt, embedded, plus an optional operator file). A
// check first runs a literal prefilter over the raw text; only when a rule
// keyword appears (or the text uses shell expansions that could hide one) is
// the command tokenised like a shell would and each simple command judged by
// its argv.
package waf

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

// Action is what the firewall wants done with a request.
type Action uint8

// Actions, ordered from least to most restrictive.
const (
	Allow Action = iota
	Ask
	Deny
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Ask:
		return "ask"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// ParseAction reads "allow", "ask" or "deny".
func ParseAction(s string) (Action, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "allow":
		return Allow, nil
	case "ask":
		return Ask, nil
	case "deny":
		return Deny, nil
	}
	return Allow, fmt.Errorf("waf: unknown action %q (want allow, ask or deny)", s)
}

// Severity grades a rule; a Policy maps it to an Action.
type Severity uint8

// Severities, from least to most severe.
const (
	Low Severity = iota
	Medium
	High
	Critical
	numSeverities
)

var severityNames = [numSeverities]string{"low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < numSeverities {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// ParseSeverity reads "low", "medium", "high" or "critical".
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Severity(i), nil
		}
	}
	return Low, fmt.Errorf("unknown severity %q (want low, medium, high or critical)", s)
}

// defaultActions is the mapping used where no Policy overrides it. Low rules
// are informational: they only matter where a policy raises them.
var defaultActions = [numSeverities]Action{Low: Allow, Medium: Ask, High: Deny, Critical: Deny}

// Verdict is the firewall's answer.
type Verdict struct {
	Action   Action
	Rule     string // rule id that fired ("" for allow)
	Category string
	Reason   string // human-readable, fit to show in a chat thread
	Severity Severity
}

// Policy overrides the severity → action mapping for a scope.
type Policy map[Severity]Action

// Options configure an Engine.
type Options struct {
	// RulesFile is an optional operator rule file merged over the embedded
	// defaults: a rule with an existing id replaces it, and a rule stanza
	// with only "disabled" switches a default off.
	RulesFile string
	// Policies maps a scope prefix to a policy. The longest prefix that
	// matches the scope at a ':' boundary wins ("" matches every scope), so
	// "slack:T1:C2" targets one channel.
	Policies map[string]Policy
	// ScreenPrompts makes CheckPrompt judge user prompts too.
	ScreenPrompts bool
	// Home is the agent's home directory, so that absolute paths under it
	// match rules written with "~". Empty: the current user's home.
	Home string
}

// MaxCommandBytes is the largest command inspected; longer ones are asked
// about rather than parsed.
const MaxCommandBytes = 1 << 20

//go:embed rules.txt
var defaultRules []byte

// Engine judges commands. It is safe for concurrent use.
type Engine struct {
	rules    []*rule
	pre      *prefilter
	policies []scopePolicy // longest prefix first
	screen   bool
	home     string
	pool     sync.Pool
}

type scopePolicy struct {
	prefix string
	policy Policy
}

// New loads the embedded rules, merges opts.RulesFile over them and builds
// the prefilter. A malformed rule file is an error naming the file and line.
func New(opts Options) (*Engine, error) {
	rs, err := parseRules("rules.txt (embedded)", defaultRules, nil)
	if err != nil {
		return nil, err
	}
	if opts.RulesFile != "" {
		data, err := os.ReadFile(opts.RulesFile)
		if err != nil {
			return nil, fmt.Errorf("waf: read rule file: %w", err)
		}
		over, err := parseRules(opts.RulesFile, data, rs.sets)
		if err != nil {
			return nil, err
		}
		rs.merge(over)
	}
	return newEngine(rs.active(), opts)
}

func newEngine(rules []*rule, opts Options) (*Engine, error) {
	if len(rules) > maxRules {
		return nil, fmt.Errorf("waf: %d rules, at most %d are supported", len(rules), maxRules)
	}
	for p, pol := range opts.Policies {
		for sev, a := range pol {
			if sev >= numSeverities || a > Deny {
				return nil, fmt.Errorf("waf: policy %q: invalid mapping %v → %v", p, sev, a)
			}
		}
	}
	e := &Engine{rules: rules, screen: opts.ScreenPrompts, home: opts.Home}
	if e.home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			e.home = h
		}
	}
	e.home = strings.TrimRight(e.home, "/")
	pre, err := buildPrefilter(rules)
	if err != nil {
		return nil, err
	}
	e.pre = pre
	for p, pol := range opts.Policies {
		e.policies = append(e.policies, scopePolicy{prefix: p, policy: pol})
	}
	sort.Slice(e.policies, func(i, j int) bool {
		return len(e.policies[i].prefix) > len(e.policies[j].prefix)
	})
	e.pool.New = func() any { return new(state) }
	return e, nil
}

// Rules returns the ids of the active rules, in evaluation order.
func (e *Engine) Rules() []string {
	ids := make([]string, len(e.rules))
	for i, r := range e.rules {
		ids[i] = r.id
	}
	return ids
}

func (e *Engine) policyFor(scope string) Policy {
	for _, sp := range e.policies {
		if strings.HasPrefix(scope, sp.prefix) &&
			(len(scope) == len(sp.prefix) || sp.prefix == "" ||
				scope[len(sp.prefix)] == ':' || strings.HasSuffix(sp.prefix, ":")) {
			return sp.policy
		}
	}
	return nil
}

func actionFor(pol Policy, sev Severity) Action {
	if a, ok := pol[sev]; ok {
		return a
	}
	return defaultActions[sev]
}

// Check judges a shell command, as the agent's Bash tool would run it.
func (e *Engine) Check(scope, command string) Verdict {
	return e.check(scope, command, "")
}

// CheckPrompt judges a user prompt; it allows everything unless
// Options.ScreenPrompts is set, and then judges shell code in the prompt.
func (e *Engine) CheckPrompt(scope, text string) Verdict {
	if !e.screen {
		return Verdict{Action: Allow}
	}
	return e.check(scope, text, "")
}

// CheckTool judges one tool call: Bash by its command, file-writing tools
// by their target path, file-reading tools (Read, Grep) as a read of their
// path, so secrets are as guarded from Read as from cat; other tools are
// allowed.
func (e *Engine) CheckTool(scope, tool string, input json.RawMessage) Verdict {
	var in struct {
		Command      *string `json:"command"`
		FilePath     string  `json:"file_path"`
		NotebookPath string  `json:"notebook_path"`
		Path         string  `json:"path"`
	}
	switch tool {
	case "Bash", "Write", "Edit", "MultiEdit", "NotebookEdit", "Read", "Grep":
	default:
		return Verdict{Action: Allow}
	}
	if err := json.Unmarshal(input, &in); err != nil {
		return e.builtin(scope, badInput)
	}
	if tool == "Read" || tool == "Grep" {
		path := in.FilePath
		if tool == "Grep" {
			path = in.Path
		}
		if path == "" {
			return Verdict{Action: Allow} // Grep without a path searches the working directory
		}
		return e.check(scope, "cat -- '"+strings.ReplaceAll(path, "'", `'\''`)+"'", "")
	}
	if tool == "Bash" {
		if in.Command == nil {
			return e.builtin(scope, badInput)
		}
		return e.check(scope, *in.Command, "")
	}
	path := in.FilePath
	if tool == "NotebookEdit" && in.NotebookPath != "" {
		path = in.NotebookPath
	}
	if path == "" {
		return e.builtin(scope, badInput)
	}
	return e.check(scope, "", path)
}

func (e *Engine) check(scope, command, writePath string) Verdict {
	if len(command) > MaxCommandBytes || len(writePath) > MaxCommandBytes {
		return e.builtin(scope, tooLong)
	}
	var cand bitset
	trig := e.pre.scan(command, &cand)
	if writePath != "" { // one path: every rule may judge it
		cand = e.pre.all
		trig = true
	}
	if !trig && cand.empty() {
		return Verdict{Action: Allow}
	}
	st := e.pool.Get().(*state)
	v := e.judge(st, e.policyFor(scope), command, writePath, &cand)
	st.release()
	e.pool.Put(st)
	return v
}

// HookResponse is the PreToolUse hook answer for v, as the CLI expects it:
// {} for allow (the CLI's own permission flow still applies), otherwise a
// permission decision with the firewall's reason.
func HookResponse(v Verdict) any {
	if v.Action == Allow {
		return struct{}{}
	}
	return hookAnswer{HookSpecificOutput: hookDecision{
		HookEventName:            "PreToolUse",
		PermissionDecision:       v.Action.String(),
		PermissionDecisionReason: FormatReason(v),
	}}
}

// FormatReason is the text shown to the agent and the thread for a verdict.
func FormatReason(v Verdict) string {
	return "hotline firewall: rule " + v.Rule + ": " + v.Reason
}

type hookAnswer struct {
	HookSpecificOutput hookDecision `json:"hookSpecificOutput"`
}

type hookDecision struct {
	HookEventName            string `json:"hookEventName"`
	PermissionDecision       string `json:"permissionDecision"`
	PermissionDecisionReason string `json:"permissionDecisionReason"`
}
