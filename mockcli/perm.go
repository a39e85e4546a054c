package main

import (
	"path/filepath"
	"regexp"
	"strings"
)

// silentCommands print nothing when they succeed; the real CLI then
// reports "(Bash completed with no output)" (approval.jsonl's touch).
var silentCommands = map[string]bool{
	"touch": true, "mkdir": true, "rm": true, "cp": true, "mv": true, "chmod": true,
	"chown": true, "ln": true, "true": true, "cd": true, "rmdir": true,
}

// blockedPath is the file a silent file command would write, if any.
func blockedPath(cmd, cwd string) string {
	f := strings.Fields(cmd)
	if len(f) < 2 || !silentCommands[f[0]] || f[0] == "cd" || f[0] == "true" {
		return ""
	}
	p := f[len(f)-1]
	if strings.HasPrefix(p, "-") {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(cwd, p)
	}
	return p
}

const noOutput = "(Bash completed with no output)"

// mockRun pretends to run a command; nothing executes. echo prints its
// arguments and silent commands print nothing, as in the recordings; any
// other command reports what would have run.
func mockRun(cmd string) string {
	if strings.ContainsAny(cmd, "|;&><`$") {
		return "(mock) ran: " + cmd
	}
	f := strings.Fields(cmd)
	switch {
	case len(f) > 0 && f[0] == "echo":
		return strings.Trim(strings.TrimSpace(strings.TrimPrefix(cmd, "echo")), `"'`)
	case len(f) > 0 && silentCommands[f[0]]:
		return noOutput
	}
	return "(mock) ran: " + cmd
}

// hookMatches follows Claude Code's matcher rules: empty or "*" matches
// every tool, otherwise an exact name, a|b list, or a regular expression.
func hookMatches(matcher, tool string) bool {
	if matcher == "" || matcher == "*" {
		return true
	}
	for _, alt := range strings.Split(matcher, "|") {
		if alt == tool {
			return true
		}
	}
	re, err := regexp.Compile("^(?:" + matcher + ")$")
	return err == nil && re.MatchString(tool)
}

var readOnlyCommands = map[string]bool{
	"echo": true, "cat": true, "ls": true, "pwd": true, "head": true, "tail": true,
	"grep": true, "rg": true, "wc": true, "date": true, "whoami": true, "hostname": true,
	"uname": true, "true": true, "which": true, "stat": true, "file": true, "du": true,
	"df": true, "id": true, "printf": true, "sort": true, "uniq": true, "diff": true,
}

var segmentRE = regexp.MustCompile(`\|\||&&|\|`)

// readOnly approximates the CLI's auto-allow list: every pipeline or &&
// segment starts with a read-only command and nothing redirects or
// substitutes.
func readOnly(cmd string) bool {
	if strings.ContainsAny(cmd, "<>`;") || strings.Contains(cmd, "$(") {
		return false
	}
	for _, seg := range segmentRE.Split(cmd, -1) {
		f := strings.Fields(seg)
		if len(f) == 0 || !readOnlyCommands[f[0]] {
			return false
		}
	}
	return true
}

var criticalPaths = map[string]bool{
	"/": true, "/*": true, "~": true, "~/": true, "$HOME": true, "/home": true,
	"/etc": true, "/usr": true, "/bin": true, "/var": true, "/root": true,
}

// dangerousReason reports rm of a critical path (the CLI's safety check).
func dangerousReason(cmd string) string {
	f := strings.Fields(cmd)
	if len(f) == 0 || f[0] != "rm" {
		return ""
	}
	for _, arg := range f[1:] {
		if criticalPaths[arg] {
			return "Dangerous rm operation on critical path: " + arg
		}
	}
	return ""
}

// approval says why a command is not auto-allowed, in the CLI's words.
type approval struct {
	kind    string // decision_reason_type: safetyCheck, other, or "" for a path
	reason  string // decision_reason
	path    string // blocked_path of a file-writing command
	message string // what the tool_result says when nobody can approve
}

func approvalFor(cmd, cwd string) approval {
	if reason := dangerousReason(cmd); reason != "" {
		return approval{kind: "safetyCheck", reason: reason, message: dangerMessage(cmd)}
	}
	if p := blockedPath(cmd, cwd); p != "" {
		name := strings.Fields(cmd)[0]
		return approval{path: p, message: name + " in '" + p + "' needs approval. The path is inside the working directories for this session ('" + cwd + "'), and Claude Code asks before a shell command creates, changes or removes files there."}
	}
	return approval{kind: "other", reason: "This command requires approval", message: "This command requires approval"}
}

func dangerMessage(cmd string) string {
	for _, arg := range strings.Fields(cmd)[1:] {
		if criticalPaths[arg] {
			return "Dangerous rm operation detected: '" + arg + "'\n\nThis command would remove a critical system directory. This requires explicit approval and cannot be auto-allowed by permission rules."
		}
	}
	return ""
}
