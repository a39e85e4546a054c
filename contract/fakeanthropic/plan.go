package fakeanthropic

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ReplyKind says how the fake answers one request.
type ReplyKind int

const (
	ReplyText  ReplyKind = iota // a text block
	ReplyTool                   // a Bash tool_use block, stop_reason tool_use
	ReplyError                  // an HTTP error with an Anthropic error body
)

// maxDelay bounds SLOW:<ms> so a typo cannot stall a test run for hours.
const maxDelay = 10 * time.Second

// Reply is what Plan decided for one request.
type Reply struct {
	Kind      ReplyKind
	Text      string          // ReplyText: the whole text
	Delay     time.Duration   // pause before each delta after the first
	ToolInput json.RawMessage // ReplyTool: the Bash input
	Status    int             // ReplyError: HTTP status
	ErrType   string          // ReplyError: error.type
	ErrMsg    string          // ReplyError: error.message
}

// Plan picks the reply for a request: an answer to a tool_result when the
// last user message carries one, otherwise the triggers in the current
// prompt (CurrentText), otherwise ECHO of it.
func Plan(r *MessagesRequest) Reply {
	last := r.LastUser()
	if last == nil {
		return Reply{Kind: ReplyText, Text: "ECHO: "}
	}
	for _, b := range last.Content {
		if b.Type == "tool_result" {
			prefix := "TOOL_RESULT: "
			if b.IsError {
				prefix += "(is_error) "
			}
			return Reply{Kind: ReplyText, Text: prefix + b.ResultText}
		}
	}
	text := r.CurrentText()
	if rep, ok := errorTrigger(text); ok {
		return rep
	}
	if cmd, ok := toolTrigger(text); ok {
		in, _ := json.Marshal(map[string]string{"command": cmd, "description": "fake tool call"})
		return Reply{Kind: ReplyTool, ToolInput: in}
	}
	return Reply{Kind: ReplyText, Text: "ECHO: " + text, Delay: slowTrigger(text)}
}

func errorTrigger(text string) (Reply, bool) {
	switch {
	case strings.Contains(text, "FAIL500"):
		return Reply{Kind: ReplyError, Status: http.StatusInternalServerError, ErrType: "api_error", ErrMsg: "fake 500"}, true
	case strings.Contains(text, "FAIL429"):
		return Reply{Kind: ReplyError, Status: http.StatusTooManyRequests, ErrType: "rate_limit_error", ErrMsg: "fake 429"}, true
	case strings.Contains(text, "FAIL529"):
		return Reply{Kind: ReplyError, Status: 529, ErrType: "overloaded_error", ErrMsg: "Overloaded"}, true
	case strings.Contains(text, "FAILBAD"):
		return Reply{Kind: ReplyError, Status: http.StatusBadRequest, ErrType: "invalid_request_error", ErrMsg: "fake 400"}, true
	}
	return Reply{}, false
}

// toolTrigger finds "TOOL_BASH: <cmd>"; the command runs to the end of
// that line.
func toolTrigger(text string) (string, bool) {
	i := strings.Index(text, "TOOL_BASH:")
	if i < 0 {
		return "", false
	}
	cmd := text[i+len("TOOL_BASH:"):]
	if j := strings.IndexByte(cmd, '\n'); j >= 0 {
		cmd = cmd[:j]
	}
	cmd = strings.TrimSpace(cmd)
	return cmd, cmd != ""
}

// slowTrigger reads the delay of "SLOW:<ms>"; anything unparsable is 0.
func slowTrigger(text string) time.Duration {
	i := strings.Index(text, "SLOW:")
	if i < 0 {
		return 0
	}
	digits := text[i+len("SLOW:"):]
	n := 0
	for n < len(digits) && n < 9 && digits[n] >= '0' && digits[n] <= '9' {
		n++
	}
	ms, err := strconv.Atoi(digits[:n])
	if err != nil {
		return 0
	}
	d := time.Duration(ms) * time.Millisecond
	if d > maxDelay {
		d = maxDelay
	}
	return d
}

// chunks splits s into deltas of a few runes, as the real API streams.
func chunks(s string, size int) []string {
	if s == "" {
		return []string{""}
	}
	rs := []rune(s)
	var out []string
	for len(rs) > 0 {
		n := size
		if n > len(rs) {
			n = len(rs)
		}
		out = append(out, string(rs[:n]))
		rs = rs[n:]
	}
	return out
}
