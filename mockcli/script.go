package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type scriptKind int

const (
	scriptText scriptKind = iota // reply text and chunks precomputed
	scriptHistory
	scriptCrash
	scriptHang
	scriptHangHard
	scriptFail
	scriptTool
)

// script is the behaviour a prompt selects (see the package comment).
type script struct {
	kind    scriptKind
	text    string
	chunks  []string
	delay   time.Duration
	command string
	fail    failSpec
}

type failSpec struct {
	status   int
	errType  string // result api_error_type
	errCode  string // assistant "error"
	retryErr string // api_retry "error"; empty: no retries
	text     string
}

// The recorded API failures (apierr.jsonl), keyed by the fake API trigger.
var failures = map[string]failSpec{
	"FAIL500": {500, "api_error", "server_error", "server_error",
		"API Error: 500 fake 500. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:46229)."},
	"FAIL429": {429, "rate_limit_error", "rate_limit", "rate_limit",
		"API Error: Request rejected (429) · fake 429"},
	"FAIL529": {529, "overloaded_error", "server_error", "overloaded",
		"API Error: Repeated 529 Overloaded errors. The API is at capacity — this is usually temporary. Try again in a moment. If it persists, check your inference gateway (127.0.0.1:46229)."},
	"FAILBAD": {400, "invalid_request_error", "unknown", "",
		"API Error: 400 fake 400"},
}

var failOrder = []string{"FAIL500", "FAIL429", "FAIL529", "FAILBAD"}

const (
	maxDelay     = time.Hour
	maxTokens    = 1_000_000
	maxHugeBytes = 64 << 20
)

// parseScript picks the behaviour for a prompt. Directives are the first
// word of the prompt; the FAIL triggers may appear anywhere, as with the
// fake API the recordings were made against.
func parseScript(prompt string) script {
	trimmed := strings.TrimSpace(prompt)
	first, _, _ := strings.Cut(trimmed, " ")
	first, _, _ = strings.Cut(first, "\n")
	echo := "ECHO: " + prompt
	switch {
	case first == "CRASH":
		return script{kind: scriptCrash}
	case first == "HANG":
		return script{kind: scriptHang}
	case first == "HANGHARD":
		return script{kind: scriptHangHard}
	case first == "HISTORY":
		return script{kind: scriptHistory}
	case strings.HasPrefix(trimmed, "TOOL_BASH:"):
		cmd, _, _ := strings.Cut(strings.TrimPrefix(trimmed, "TOOL_BASH:"), "\n")
		cmd = strings.TrimSpace(cmd)
		if cmd == "" {
			return mockError("TOOL_BASH: needs a command, e.g. TOOL_BASH: echo hi")
		}
		return script{kind: scriptTool, command: cmd}
	case strings.HasPrefix(first, "SLOW:"):
		ms, err := boundedInt(strings.TrimPrefix(first, "SLOW:"), int64(maxDelay/time.Millisecond))
		if err != nil {
			return mockError(fmt.Sprintf("SLOW:<ms>: %v", err))
		}
		return script{text: echo, chunks: chunkText(echo), delay: time.Duration(ms) * time.Millisecond}
	case strings.HasPrefix(first, "STREAM:"):
		return streamScript(strings.TrimPrefix(first, "STREAM:"))
	case strings.HasPrefix(first, "HUGE:"), strings.HasPrefix(first, "BIGLINE:"):
		name, arg, _ := strings.Cut(first, ":")
		n, err := boundedInt(arg, maxHugeBytes)
		if err != nil {
			return mockError(fmt.Sprintf("%s:<bytes>: %v", name, err))
		}
		text := hugeText(int(n))
		if name == "BIGLINE" {
			text = bigLine(int(n))
		}
		return script{text: text, chunks: chunkText(text)}
	}
	for _, k := range failOrder {
		if strings.Contains(prompt, k) {
			return script{kind: scriptFail, fail: failures[k]}
		}
	}
	return script{text: echo, chunks: chunkText(echo)}
}

func streamScript(arg string) script {
	ns, mss, ok := strings.Cut(arg, ":")
	if !ok {
		return mockError("STREAM:<n>:<ms>: missing :<ms>")
	}
	n, err := boundedInt(ns, maxTokens)
	if err == nil && n == 0 {
		err = fmt.Errorf("need at least one token")
	}
	if err != nil {
		return mockError(fmt.Sprintf("STREAM:<n>:<ms>: %v", err))
	}
	ms, err := boundedInt(mss, int64(maxDelay/time.Millisecond))
	if err != nil {
		return mockError(fmt.Sprintf("STREAM:<n>:<ms>: %v", err))
	}
	chunks := make([]string, n)
	var b strings.Builder
	for i := range chunks {
		tok := "tok" + strconv.Itoa(i+1)
		if i > 0 {
			tok = " " + tok
		}
		chunks[i] = tok
		b.WriteString(tok)
	}
	return script{text: b.String(), chunks: chunks, delay: time.Duration(ms) * time.Millisecond}
}

// mockError answers a malformed directive with a plain reply naming the
// problem, so a typo in a test prompt is obvious rather than an echo.
func mockError(msg string) script {
	text := "MOCK ERROR: " + msg
	return script{text: text, chunks: chunkText(text)}
}

func boundedInt(s string, limit int64) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a non-negative integer", s)
	}
	if n > limit {
		return 0, fmt.Errorf("%d is above the limit %d", n, limit)
	}
	return n, nil
}

// chunkText splits a reply into text_delta pieces: a few characters for
// short replies like the recordings, bigger pieces for long ones so a
// multi-megabyte reply stays a few thousand events. Cuts fall on rune
// boundaries.
func chunkText(text string) []string {
	size := 4
	switch {
	case len(text) > 4096:
		size = 2048
	case len(text) > 64:
		size = 40
	}
	chunks := make([]string, 0, len(text)/size+1)
	for len(text) > 0 {
		n := min(size, len(text))
		for n < len(text) && !utf8.RuneStart(text[n]) {
			n++
		}
		chunks = append(chunks, text[:n])
		text = text[n:]
	}
	return chunks
}

// hugeText is exactly n bytes of ASCII: paragraphs of numbered lines with
// a fenced code block every few paragraphs (so reply splitters meet fences),
// padded at the end with plain text so every fence is closed.
func hugeText(n int) string {
	var b strings.Builder
	b.Grow(n)
	for i := 0; ; i++ {
		var block string
		if i%4 == 3 {
			block = fmt.Sprintf("```go\n// block %d\nfunc f%d() int {\n\treturn %d\n}\n```\n\n", i, i, i)
		} else {
			var p strings.Builder
			for l := 0; l < 6; l++ {
				fmt.Fprintf(&p, "Line %06d.%d: the quick brown fox jumps over the lazy dog.\n", i, l)
			}
			p.WriteString("\n")
			block = p.String()
		}
		if b.Len()+len(block) > n {
			break
		}
		b.WriteString(block)
	}
	pad := n - b.Len()
	for i := 0; i < pad; i++ {
		if i%72 == 71 {
			b.WriteByte('\n')
		} else {
			b.WriteByte("abcdefghij klmnopqrst"[i%21])
		}
	}
	return b.String()
}

// bigLine is exactly n bytes of ASCII without any newline.
func bigLine(n int) string {
	const pat = "bigline-0123456789-abcdefghijklmnopqrstuvwxyz "
	return strings.Repeat(pat, n/len(pat)+1)[:n]
}
