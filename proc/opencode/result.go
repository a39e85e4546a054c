package opencode

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/proc"
)

// promptReply is the answer of POST /session/{id}/message: the last
// assistant message of the turn, once the whole agent loop has finished.
type promptReply struct {
	Info  *info  `json:"info"`
	Parts []part `json:"parts"`
}

// errNotFound is the result error text for a session OpenCode does not
// know; core recognises it as a lost conversation, as with Claude Code.
const errNotFound = "No conversation found with session ID: "

func parseReply(body []byte) (*promptReply, error) {
	var r promptReply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("opencode: prompt reply: %w", err)
	}
	if r.Info == nil {
		return nil, fmt.Errorf("opencode: prompt reply without message info")
	}
	return &r, nil
}

// replyText is the reply as the user sees it: the text parts of the last
// assistant message, without OpenCode's synthetic or ignored parts.
func replyText(parts []part) string {
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" && !p.Synthetic && !p.Ignored {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// buildResult turns the prompt reply into proc's result with Claude Code's
// conventions: an API error is subtype success with IsError and the
// status; an abort or another failure is error_during_execution with
// Errors. steps is how many assistant messages the turn produced.
func buildResult(r *promptReply, sessionID string, steps int, d time.Duration, denials []proc.Denial) *proc.Result {
	if steps < 1 {
		steps = 1
	}
	res := &proc.Result{
		Subtype: "success", Text: replyText(r.Parts), SessionID: sessionID,
		DurationMS: d.Milliseconds(), NumTurns: steps, Denials: denials,
	}
	e := r.Info.Error
	if e == nil {
		return res
	}
	res.IsError = true
	switch e.Name {
	case "APIError":
		res.APIErrorStatus = e.Data.StatusCode
		if res.Text == "" {
			res.Text = fmt.Sprintf("API Error: %d %s", e.Data.StatusCode, e.Data.Message)
		}
	case "ProviderAuthError":
		if res.Text == "" {
			res.Text = "Authentication failed: " + e.Data.Message
		}
	default:
		res.Subtype = "error_during_execution"
		res.Errors = []string{e.text()}
	}
	return res
}

// lostResult is the result of a turn in a session that could not be
// resumed.
func lostResult(sessionID string) *proc.Result {
	return &proc.Result{
		Subtype: "error_during_execution", IsError: true, SessionID: sessionID,
		Errors: []string{errNotFound + sessionID},
	}
}
