// Package fakeanthropic is a loopback stand-in for the Anthropic Messages
// API, just enough for the real Claude Code CLI to run offline and
// deterministically: it answers `ECHO: <last user text>` as streamed SSE and
// obeys prompt triggers (SLOW:<ms>, TOOL_BASH: <cmd>, FAIL500, FAIL429,
// FAIL529, FAILBAD) like the fake behind ../shared/protocol's recordings.
package fakeanthropic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MessagesRequest is the part of a POST /v1/messages body the fake reads.
type MessagesRequest struct {
	Model     string    `json:"model"`
	MaxTokens int       `json:"max_tokens"`
	Stream    bool      `json:"stream"`
	Messages  []Message `json:"messages"`
}

// Message is one conversation entry; Content is a string or block array
// on the wire and always a block slice here.
type Message struct {
	Role    string  `json:"role"`
	Content []Block `json:"-"`
}

// Block is one content block; only the fields the fake needs.
type Block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	IsError   bool            `json:"is_error,omitempty"`
	// Content of a tool_result: a string or nested blocks, flattened.
	ResultText string `json:"-"`
}

type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type wireBlock struct {
	Block
	Content json.RawMessage `json:"content,omitempty"`
}

// UnmarshalJSON accepts content as a plain string or an array of blocks.
func (m *Message) UnmarshalJSON(b []byte) error {
	var w wireMessage
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	m.Role = w.Role
	blocks, err := parseContent(w.Content)
	if err != nil {
		return fmt.Errorf("message content: %w", err)
	}
	m.Content = blocks
	return nil
}

// MarshalJSON writes content as a block array so tests can log requests.
func (m Message) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Role    string  `json:"role"`
		Content []Block `json:"content"`
	}{m.Role, m.Content})
}

func parseContent(raw json.RawMessage) ([]Block, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []Block{{Type: "text", Text: s}}, nil
	}
	var ws []wireBlock
	if err := json.Unmarshal(raw, &ws); err != nil {
		return nil, errors.New("content is neither a string nor an array of blocks")
	}
	out := make([]Block, 0, len(ws))
	for _, w := range ws {
		b := w.Block
		if b.Type == "tool_result" {
			nested, err := parseContent(w.Content)
			if err != nil {
				return nil, fmt.Errorf("tool_result content: %w", err)
			}
			b.ResultText = joinText(nested)
		}
		out = append(out, b)
	}
	return out, nil
}

// ParseRequest decodes a Messages API request body.
func ParseRequest(body []byte) (*MessagesRequest, error) {
	var r MessagesRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("messages request: %w", err)
	}
	if len(r.Messages) == 0 {
		return nil, errors.New("messages request: messages is empty")
	}
	return &r, nil
}

// joinText concatenates text blocks, leaving out what the CLI adds around
// the user's text (<system-reminder> blocks, the "[Request interrupted by
// user]" marker), so the echo is what the user typed.
func joinText(blocks []Block) string {
	var parts []string
	for _, b := range blocks {
		if b.Type != "text" || isReminder(b.Text) {
			continue
		}
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n")
}

func isReminder(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || strings.HasPrefix(s, "<system-reminder>") || strings.HasPrefix(s, "[Request interrupted by user")
}

// LastUser returns the last user message, or nil.
func (r *MessagesRequest) LastUser() *Message {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return &r.Messages[i]
		}
	}
	return nil
}

// UserTexts returns every text block the user typed, oldest first; tests
// use it to see which history a resumed CLI sent.
func (r *MessagesRequest) UserTexts() []string {
	var out []string
	for _, m := range r.Messages {
		if m.Role == "user" {
			out = append(out, typedTexts(m.Content)...)
		}
	}
	return out
}

// typedTexts lists the text blocks that are not the CLI's own additions,
// without the newline the CLI appends to blocks of earlier turns.
func typedTexts(blocks []Block) []string {
	var out []string
	for _, b := range blocks {
		if b.Type == "text" && !isReminder(b.Text) {
			out = append(out, strings.TrimRight(b.Text, "\n"))
		}
	}
	return out
}

// CurrentText is the prompt of this turn: the last typed text block of the
// last user message. After a failed turn the CLI keeps the failed prompts
// as earlier blocks of the same message; messages written during a turn
// arrive merged into one block ("second\nthird").
func (r *MessagesRequest) CurrentText() string {
	last := r.LastUser()
	if last == nil {
		return ""
	}
	t := typedTexts(last.Content)
	if len(t) == 0 {
		return ""
	}
	return t[len(t)-1]
}

// AssistantTexts returns the text of every assistant message, oldest first.
func (r *MessagesRequest) AssistantTexts() []string {
	var out []string
	for _, m := range r.Messages {
		if m.Role == "assistant" {
			if t := joinText(m.Content); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}
