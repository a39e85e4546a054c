//go:build contract

package contract

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/proc"
)

// A scenario is one stdin script played into a CLI; it returns the
// stdout lines of each process it ran.
type scenario struct {
	name   string
	env    []string // added to the rig's environment
	prompt bool     // --permission-prompt-tool stdio and a PreToolUse hook
	play   func(t *testing.T, g *goldenRun) [][]byte
}

// goldenRun is one CLI (real or mock) in its own HOME and working dir.
type goldenRun struct {
	bin   string
	r     *rig
	cfg   proc.Config
	work  string
	exits []string // how each process ended, in order
}

const goldenWait = 60 * time.Second

func (g *goldenRun) start(t *testing.T, sessionID string, resume bool) *rawCLI {
	cfg := g.cfg
	cfg.SessionID, cfg.Resume = sessionID, resume
	env := append([]string(nil), g.r.env...)
	c := startRaw(t, g.bin, proc.Argv(cfg), env, g.work)
	if len(cfg.Hooks) > 0 {
		c.send(map[string]any{"type": "control_request", "request_id": "drv_1", "request": map[string]any{
			"subtype": "initialize",
			"hooks":   map[string]any{"PreToolUse": []any{map[string]any{"matcher": "Bash", "hookCallbackIds": []string{"waf_bash"}}}},
		}})
	}
	return c
}

// turns plays prompts one after the other and closes stdin.
func (g *goldenRun) turns(t *testing.T, c *rawCLI, prompts ...string) [][]byte {
	for _, p := range prompts {
		c.sendUser(p)
		c.untilResult(goldenWait, goldenAnswer)
	}
	g.closeAndWait(c)
	return c.lineCopy()
}

func (g *goldenRun) closeAndWait(c *rawCLI) {
	g.exits = append(g.exits, exitStatus(c.closeAndWait(goldenWait))+" after stdin closed")
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// goldenAnswer is the host side of the tools scenario: the hook denies
// rm -rf, can_use_tool allows.
func goldenAnswer(req map[string]any) any {
	switch req["subtype"] {
	case "hook_callback":
		in, _ := req["input"].(map[string]any)
		ti, _ := in["tool_input"].(map[string]any)
		if cmd, _ := ti["command"].(string); strings.Contains(cmd, "rm -rf") {
			return map[string]any{"hookSpecificOutput": map[string]any{
				"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": "WAF: rm -rf",
			}}
		}
		return map[string]any{}
	case "can_use_tool":
		return map[string]any{"behavior": "allow", "updatedInput": req["input"]}
	}
	return map[string]any{}
}

var scenarios = []scenario{
	{name: "basic", play: func(t *testing.T, g *goldenRun) [][]byte {
		return g.turns(t, g.start(t, "5e55a000-0000-4000-8000-0000000000a1", false), "hello", "second turn")
	}},
	{name: "tools_prompt", prompt: true, play: func(t *testing.T, g *goldenRun) [][]byte {
		return g.turns(t, g.start(t, "5e55a000-0000-4000-8000-0000000000a2", false),
			"TOOL_BASH: rm -rf /", "TOOL_BASH: touch "+filepath.Join(g.work, "made_by_tool"), "TOOL_BASH: echo hi")
	}},
	{name: "tools_noprompt", play: func(t *testing.T, g *goldenRun) [][]byte {
		return g.turns(t, g.start(t, "5e55a000-0000-4000-8000-0000000000a3", false), "TOOL_BASH: echo hi", "TOOL_BASH: rm -rf /")
	}},
	{name: "interrupt", play: func(t *testing.T, g *goldenRun) [][]byte {
		c := g.start(t, "5e55a000-0000-4000-8000-0000000000a4", false)
		c.sendUser("SLOW:2000 please stream slowly")
		c.until(goldenWait, nil, isTextDelta)
		c.send(map[string]any{"type": "control_request", "request_id": "drv_1", "request": map[string]any{"subtype": "interrupt"}})
		c.untilResult(goldenWait, nil)
		return g.turns(t, c, "after interrupt")
	}},
	{name: "apierr", env: []string{"CLAUDE_CODE_MAX_RETRIES=2"}, play: func(t *testing.T, g *goldenRun) [][]byte {
		return g.turns(t, g.start(t, "5e55a000-0000-4000-8000-0000000000a5", false), "please FAIL500", "please FAILBAD", "recovered")
	}},
	{name: "resume", play: func(t *testing.T, g *goldenRun) [][]byte {
		const sid = "5e55a000-0000-4000-8000-0000000000a6"
		a := g.turns(t, g.start(t, sid, false), "remember ALPHA-123")
		b := g.turns(t, g.start(t, sid, true), "after resume")
		return append(a, b...)
	}},
	{name: "malformed", play: func(t *testing.T, g *goldenRun) [][]byte {
		c := g.start(t, "5e55a000-0000-4000-8000-0000000000a7", false)
		c.sendUser("ok first")
		c.untilResult(goldenWait, nil)
		c.send(map[string]any{"type": "keep_alive"})
		c.sendRaw("this is not json\n")
		g.exits = append(g.exits, exitStatus(c.wait(goldenWait))+" after a non-JSON line")
		return c.lineCopy()
	}},
	{name: "resume_unknown", play: func(t *testing.T, g *goldenRun) [][]byte {
		c := g.start(t, "00000000-0000-4000-8000-000000000000", true)
		c.sendUser("hello?")
		c.untilResult(goldenWait, nil)
		g.closeAndWait(c)
		return c.lineCopy()
	}},
}

func isTextDelta(m map[string]any) bool {
	ev, _ := m["event"].(map[string]any)
	d, _ := ev["delta"].(map[string]any)
	return m["type"] == "stream_event" && d["type"] == "text_delta"
}

// TestGoldenMockcliMatchesRealCLI plays each scenario into the real CLI
// and into mockcli and compares line shapes and result fields. The real
// CLI is the reference: every difference is a mockcli bug. Set
// HOTLINE_CONTRACT_GOLDEN=warn to log differences without failing, and
// HOTLINE_CONTRACT_REPORT=<file> to write them to a file.
func TestGoldenMockcliMatchesRealCLI(t *testing.T) {
	mock := mockPath(t)
	var report []string
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			realRun := playOn(t, claudePath(t), sc)
			mockRun := playOn(t, mock, sc)
			diffs, err := compareRuns(realRun.lines, mockRun.lines)
			if err != nil {
				t.Fatal(err)
			}
			diffs = append(diffs, compareFacts("process", realRun.exits, mockRun.exits)...)
			for _, d := range diffs {
				report = append(report, sc.name+": "+d)
			}
		})
	}
	if path := os.Getenv("HOTLINE_CONTRACT_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(strings.Join(report, "\n")+"\n"), 0o644); err != nil {
			t.Errorf("write report: %v", err)
		}
	}
	if len(report) == 0 {
		return
	}
	msg := fmt.Sprintf("mockcli differs from the real CLI in %d ways (mockcli is wrong):\n%s", len(report), strings.Join(report, "\n"))
	if os.Getenv("HOTLINE_CONTRACT_GOLDEN") == "warn" {
		t.Log(msg)
		return
	}
	t.Error(msg)
}

type played struct {
	lines [][]byte
	exits []string
}

func playOn(t *testing.T, bin string, sc scenario) played {
	r := newRig(t, sc.env...)
	cfg := r.config("", false)
	if sc.prompt {
		cfg.PermissionPrompt = true
		cfg.Hooks = []proc.HookMatcher{{Matcher: "Bash", CallbackID: "waf_bash"}}
	}
	g := &goldenRun{bin: bin, r: r, cfg: cfg, work: r.work}
	lines := sc.play(t, g)
	// Paths and the fake's port differ between the two runs; facts about
	// them should not.
	api := strings.TrimPrefix(r.fake.URL(), "http://")
	norm := strings.NewReplacer(r.work, "<work>", r.home, "<home>", api, "<fake-api>")
	for i, l := range lines {
		lines[i] = []byte(norm.Replace(string(l)))
	}
	return played{lines: lines, exits: g.exits}
}

func compareRuns(realLines, mockLines [][]byte) ([]string, error) {
	rs, err := Sequence(realLines)
	if err != nil {
		return nil, fmt.Errorf("real CLI: %w", err)
	}
	ms, err := Sequence(mockLines)
	if err != nil {
		return nil, fmt.Errorf("mockcli: %w", err)
	}
	diffs := CompareGroups("mockcli", rs, ms)
	return append(diffs, compareFacts("result", resultFacts(realLines), resultFacts(mockLines))...), nil
}

// compareFacts reports each position where two fact lists disagree.
func compareFacts(what string, want, got []string) []string {
	var out []string
	for i := 0; i < len(want) || i < len(got); i++ {
		a, b := "(none)", "(none)"
		if i < len(want) {
			a = want[i]
		}
		if i < len(got) {
			b = got[i]
		}
		if a != b {
			out = append(out, fmt.Sprintf("%s #%d: real %s, mockcli %s", what, i+1, a, b))
		}
	}
	return out
}

// resultFacts renders the fields of each result line that a bridge acts on.
func resultFacts(lines [][]byte) []string {
	var out []string
	for _, l := range lines {
		var r struct {
			Type      string            `json:"type"`
			Subtype   string            `json:"subtype"`
			IsError   bool              `json:"is_error"`
			Result    *string           `json:"result"`
			NumTurns  int               `json:"num_turns"`
			APIStatus *int              `json:"api_error_status"`
			Denials   []json.RawMessage `json:"permission_denials"`
			Errors    []string          `json:"errors"`
		}
		if json.Unmarshal(l, &r) != nil || r.Type != "result" {
			continue
		}
		text := "null"
		if r.Result != nil {
			text = fmt.Sprintf("%q", *r.Result)
		}
		status := "null"
		if r.APIStatus != nil {
			status = fmt.Sprint(*r.APIStatus)
		}
		out = append(out, fmt.Sprintf("{subtype=%s is_error=%v result=%s num_turns=%d api_error_status=%s denials=%d errors=%q}",
			r.Subtype, r.IsError, text, r.NumTurns, status, len(r.Denials), r.Errors))
	}
	return out
}
