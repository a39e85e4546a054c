package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Seeds include every recorded stdin line so `go test` runs them.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		`{"message":{"content":"hello","role":"user"},"type":"user"}`,
		`{"request":{"hooks":{"PreToolUse":[{"hookCallbackIds":["waf_bash"],"matcher":"Bash"}]},"subtype":"initialize"},"request_id":"drv_1","type":"control_request"}`,
		`{"response":{"request_id":"x","response":{"behavior":"allow","updatedInput":{"command":"ls"}},"subtype":"success"},"type":"control_response"}`,
		`{"type":"user","message":{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAEC"}}]}}`,
		`{"type":"bogus_type"}`, `{"foo":1}`, "this is not json", "", "   ", `[1,2]`, `{"type":"user","message":5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, ok, err := parseLine(line)
		if err != nil && ok {
			t.Fatal("error and ok")
		}
		if !ok {
			return
		}
		if !json.Valid(line) {
			t.Fatalf("accepted invalid JSON %q", line)
		}
		switch m.Type {
		case "user":
			if p, err := parseUserMessage(m.Message); err == nil && p.content == nil {
				t.Fatal("user prompt without content")
			}
		case "control_request":
			_, _ = parseControlRequest(m.Request)
		case "control_response":
			if cr, err := parseControlResponse(m.Response); err == nil && cr.RequestID == "" {
				t.Fatal("response without id accepted")
			}
		}
	})
}

func FuzzParseArgs(f *testing.F) {
	f.Add("-p\x00--input-format\x00stream-json\x00--output-format\x00stream-json\x00--verbose")
	f.Add("-p\x00--input-format=stream-json\x00--output-format=stream-json\x00--verbose\x00--resume=5e55a000-0000-4000-8000-000000000001")
	f.Add("--model")
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := parseArgs(strings.Split(s, "\x00"))
		if err == nil && !cfg.version && (!cfg.verbose || !cfg.print || cfg.inputFormat != "stream-json") {
			t.Fatalf("accepted %q as %+v", s, cfg)
		}
	})
}

func FuzzParseScript(f *testing.F) {
	for _, s := range []string{"hello", "SLOW:700 please", "STREAM:3:1", "TOOL_BASH: rm -rf /", "HUGE:300", "BIGLINE:10", "x FAIL529", "CRASH", "héllo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		sc := parseScript(prompt)
		if sc.kind == scriptText && strings.Join(sc.chunks, "") != sc.text {
			t.Fatalf("chunks do not rebuild the reply for %q", prompt)
		}
	})
}

func FuzzLoadTranscript(f *testing.F) {
	f.Add([]byte(`{"type":"user","promptId":"p","message":{"role":"user","content":"one"},"uuid":"u"}` + "\n"))
	f.Add([]byte("garbage\n{\"type\":\"user\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "t.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var warn strings.Builder
		if _, _, err := loadTranscript(path, newLogger(&warn)); err != nil {
			t.Fatalf("a readable file must load: %v", err)
		}
	})
}
