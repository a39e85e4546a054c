package proc

import "strings"

// baseEnv is what every agent gets (DESIGN.md, "Agent environment, exactly").
var baseEnv = map[string]bool{
	"PATH": true, "HOME": true, "LANG": true, "TZ": true, "TMPDIR": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true,
}

// forbiddenPrefixes never reach an agent, even when listed in pass: they
// hold the bridge's own credentials and settings.
var forbiddenPrefixes = []string{"SLACK_", "DISCORD_", "REDIS_", "HOTLINE_"}

// forbiddenNames are single names that must not pass. CLAUDECODE marks a
// nested Claude Code session and changes the CLI's behaviour.
var forbiddenNames = map[string]bool{"CLAUDECODE": true}

func kindFamilies(kind Kind) []string {
	switch kind {
	case KindClaude, KindMock:
		return []string{"ANTHROPIC_", "CLAUDE_CODE_", "DISABLE_"}
	case KindOpenCode:
		return []string{"OPENCODE_"}
	}
	return nil
}

func hasAnyPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// AgentEnv filters environ (KEY=VALUE entries) down to the allow-list for
// kind plus the names in pass. Forbidden names are dropped even if listed
// in pass. Order is preserved; for a repeated name the last entry wins, as
// in a shell.
func AgentEnv(kind Kind, environ []string, pass []string) []string {
	extra := make(map[string]bool, len(pass))
	for _, n := range pass {
		if n = strings.TrimSpace(n); n != "" {
			extra[n] = true
		}
	}
	families := kindFamilies(kind)
	out := make([]string, 0, len(environ))
	seen := make(map[string]int, len(environ))
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || !allowedName(name, families, extra) {
			continue
		}
		if i, dup := seen[name]; dup {
			out[i] = kv
			continue
		}
		seen[name] = len(out)
		out = append(out, kv)
	}
	return out
}

func allowedName(name string, families []string, extra map[string]bool) bool {
	if forbiddenNames[name] || hasAnyPrefix(name, forbiddenPrefixes) {
		return false
	}
	return baseEnv[name] || strings.HasPrefix(name, "LC_") ||
		hasAnyPrefix(name, families) || extra[name]
}

// withHome replaces or adds HOME.
func withHome(env []string, home string) []string {
	if home == "" {
		return env
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "HOME=") {
			out = append(out, kv)
		}
	}
	return append(out, "HOME="+home)
}

// Argv returns the arguments (without the binary) for cfg.Kind. The mock
// takes the same flags as Claude Code. OpenCode is not supported yet: its
// argv is just ExtraArgs.
func Argv(cfg Config) []string {
	if cfg.Kind != KindClaude && cfg.Kind != KindMock {
		return append([]string(nil), cfg.ExtraArgs...)
	}
	args := []string{
		"-p", "--input-format", "stream-json", "--output-format", "stream-json",
		"--verbose", "--include-partial-messages",
	}
	if cfg.PermissionPrompt {
		args = append(args, "--permission-prompt-tool", "stdio")
	}
	if cfg.SessionID != "" {
		if cfg.Resume {
			args = append(args, "--resume", cfg.SessionID)
		} else {
			args = append(args, "--session-id", cfg.SessionID)
		}
	}
	if cfg.Model != "" {
		args = append(args, "--model", cfg.Model)
	}
	return append(args, cfg.ExtraArgs...)
}
