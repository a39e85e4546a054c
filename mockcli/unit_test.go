package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseArgs(t *testing.T) {
	ok := func(extra ...string) []string { return append(append([]string{}, baseArgs...), extra...) }
	cases := []struct {
		name    string
		args    []string
		wantErr string
		check   func(config) bool
	}{
		{"minimal", ok(), "", func(c config) bool { return c.model == defaultModel && !c.partial }},
		{"equals form", []string{"-p", "--input-format=stream-json", "--output-format=stream-json", "--verbose", "--model=m=1"}, "",
			func(c config) bool { return c.model == "m=1" }},
		{"all flags", ok("--include-partial-messages", "--permission-prompt-tool", "stdio", "--session-id", "5e55a000-0000-4000-8000-000000000001"), "",
			func(c config) bool {
				return c.partial && c.promptTool == "stdio" && c.sessionID == "5e55a000-0000-4000-8000-000000000001"
			}},
		{"resume", ok("--resume", "5e55a000-0000-4000-8000-000000000001"), "", func(c config) bool { return c.resumeID != "" }},
		{"no verbose", []string{"-p", "--input-format", "stream-json", "--output-format", "stream-json"}, "requires --verbose", nil},
		{"no print", baseArgs[1:], "-p", nil},
		{"unknown", ok("--frobnicate"), "unknown option '--frobnicate'", nil},
		{"missing value", ok("--model"), "argument missing", nil},
		{"bool with value", ok("--verbose=yes"), "does not take a value", nil},
		{"bad session", ok("--session-id", "nope"), "valid UUID", nil},
		{"both ids", ok("--session-id", "5e55a000-0000-4000-8000-000000000001", "--resume", "5e55a000-0000-4000-8000-000000000001"), "--fork-session", nil},
		{"other prompt tool", ok("--permission-prompt-tool", "mcp__x"), "only stdio", nil},
		{"positional", ok("hello"), "unexpected argument", nil},
		{"version", []string{"--version"}, "", func(c config) bool { return c.version }},
		{"text output", []string{"-p", "--input-format", "stream-json", "--output-format", "text", "--verbose"}, "--output-format", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseArgs(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(cfg) {
				t.Fatalf("err %v cfg %+v", err, cfg)
			}
		})
	}
}

func TestHugeTextIsExactAndFencesClose(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100, 1000, 4095, 4096, 65537, 200000} {
		s := hugeText(n)
		if len(s) != n {
			t.Fatalf("hugeText(%d) has %d bytes", n, len(s))
		}
		if strings.Count(s, "```")%2 != 0 {
			t.Fatalf("hugeText(%d) leaves a fence open", n)
		}
		if b := bigLine(n); len(b) != n || strings.Contains(b, "\n") {
			t.Fatalf("bigLine(%d) wrong", n)
		}
	}
	if !strings.Contains(hugeText(5000), "```go\n") {
		t.Fatal("want a code block in a 5000-byte reply")
	}
}

func TestChunkTextKeepsRunes(t *testing.T) {
	for _, s := range []string{"", "ECHO: hello", strings.Repeat("héllo wörld ✓ ", 50), strings.Repeat("€", 3000)} {
		chunks := chunkText(s)
		if strings.Join(chunks, "") != s {
			t.Fatalf("chunks do not rebuild %q", s)
		}
		for _, c := range chunks {
			if !utf8.ValidString(c) || c == "" {
				t.Fatalf("bad chunk %q", c)
			}
		}
	}
	if got := chunkText("ECHO: hello"); len(got) != 3 || got[0] != "ECHO" {
		t.Fatalf("short replies stream in ~4-char chunks, got %q", got)
	}
}

func TestParseScript(t *testing.T) {
	cases := map[string]scriptKind{
		"CRASH": scriptCrash, "  HANG": scriptHang, "HANGHARD now": scriptHangHard, "HISTORY": scriptHistory,
		"TOOL_BASH: ls": scriptTool, "please FAIL500": scriptFail, "hello": scriptText, "CRASHED": scriptText,
	}
	for p, want := range cases {
		if got := parseScript(p).kind; got != want {
			t.Errorf("parseScript(%q) = %v, want %v", p, got, want)
		}
	}
	if sc := parseScript("SLOW:25 x"); sc.delay.Milliseconds() != 25 || sc.text != "ECHO: SLOW:25 x" {
		t.Errorf("SLOW: %+v", sc)
	}
	if sc := parseScript("TOOL_BASH:   rm -rf /  "); sc.command != "rm -rf /" {
		t.Errorf("command %q", sc.command)
	}
	for _, bad := range []string{"SLOW:x", "STREAM:3", "STREAM:0:1", "HUGE:-1", "HUGE:999999999999", "TOOL_BASH:"} {
		if sc := parseScript(bad); !strings.HasPrefix(sc.text, "MOCK ERROR: ") {
			t.Errorf("parseScript(%q) = %q, want a MOCK ERROR reply", bad, sc.text)
		}
	}
}

func TestPermissionClassifier(t *testing.T) {
	for cmd, want := range map[string]bool{
		"echo hi": true, "cat /etc/hostname": true, "ls -la | grep x": true,
		"touch f": false, "echo hi > f": false, "echo $(rm x)": false, "ls; rm x": false,
	} {
		if readOnly(cmd) != want {
			t.Errorf("readOnly(%q) != %v", cmd, want)
		}
	}
	if dangerousReason("rm -rf /") != "Dangerous rm operation on critical path: /" || dangerousReason("rm -rf ./build") != "" {
		t.Error("safety check")
	}
	for m, want := range map[string]bool{"": true, "*": true, "Bash": true, "Edit|Bash": true, "Ba.*": true, "Edit": false, "[": false} {
		if hookMatches(m, "Bash") != want {
			t.Errorf("hookMatches(%q) != %v", m, want)
		}
	}
}

func TestAppendJSFloat(t *testing.T) {
	for f, want := range map[float64]string{0: "0", 0.049451999999999996: "0.049451999999999996", 0.1093: "0.1093",
		1e-7: "1e-7", 1e21: "1e+21", 12: "12"} {
		if got := string(appendJSFloat(nil, f)); got != want {
			t.Errorf("appendJSFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestTranscriptRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.jsonl")
	data := `{"type":"user","promptId":"p1","message":{"role":"user","content":"one"},"uuid":"u1"}
not json at all
{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"x"}]},"uuid":"u2"}
{"type":"user","promptId":"p2","message":{"role":"user","content":[{"type":"text","text":"two"}]},"uuid":"u3"}
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	var warn strings.Builder
	prompts, last, err := loadTranscript(path, newLogger(&warn))
	if err != nil || strings.Join(prompts, "|") != "one|two" || last != "u3" {
		t.Fatalf("prompts %q last %q err %v", prompts, last, err)
	}
	if !strings.Contains(warn.String(), "skipping bad transcript line") || !strings.Contains(warn.String(), "line=2") {
		t.Fatalf("want a warning naming line 2, got %q", warn.String())
	}
	for in, want := range map[string]string{
		"/home/user/run/work.d": "-home-user-run-work-d",
		"/tmp/u_x.y/work":       "-tmp-u-x-y-work", // as the real CLI names it
		"/tmp/a b/é":            "-tmp-a-b--",
	} {
		if got := projectDirName(in); got != want {
			t.Errorf("projectDirName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJSONWriterKeepsOrderAndEscapes(t *testing.T) {
	var j jw
	j.open()
	j.S("z", "<a&b>\n\"\\\x01é")
	j.N("a", 3)
	j.A("arr")
	j.str("x")
	j.open()
	j.Null("n")
	j.close()
	j.closeArr()
	j.close()
	want := `{"z":"<a&b>\n\"\\\u0001é","a":3,"arr":["x",{"n":null}]}`
	if string(j.b) != want {
		t.Fatalf("got  %s\nwant %s", j.b, want)
	}
	if !json.Valid(j.b) {
		t.Fatal("invalid JSON")
	}
}
