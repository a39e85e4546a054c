package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// inMsg is one parsed stdin line. Only the fields mockcli acts on are kept.
type inMsg struct {
	Type      string          `json:"type"`
	Message   json.RawMessage `json:"message"`
	RequestID string          `json:"request_id"`
	Request   json.RawMessage `json:"request"`
	Response  json.RawMessage `json:"response"`
}

// errNotJSON marks a line the real CLI dies on (exit 1).
var errNotJSON = errors.New("stdin line is not a JSON object")

// parseLine decodes one stdin line. A line that is not a JSON object is
// fatal, exactly like the real CLI; blank lines are skipped (ok=false).
func parseLine(line []byte) (m inMsg, ok bool, err error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return m, false, nil
	}
	if line[0] != '{' {
		return m, false, errNotJSON
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return m, false, fmt.Errorf("%w: %v", errNotJSON, err)
	}
	return m, true, nil
}

// userPrompt is the text a user line carries, as the fake model sees it.
type userPrompt struct {
	text    string
	content json.RawMessage // kept verbatim for the transcript
}

// parseUserMessage extracts the prompt of a user line. content is a string
// or an array of text/image blocks; images become a short marker line so a
// test can see that an attachment arrived.
func parseUserMessage(raw json.RawMessage) (userPrompt, error) {
	var msg struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if len(raw) == 0 {
		return userPrompt{}, errors.New("user line has no message")
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		return userPrompt{}, fmt.Errorf("user message: %v", err)
	}
	if msg.Role != "" && msg.Role != "user" {
		return userPrompt{}, fmt.Errorf("user message has role %q", msg.Role)
	}
	var s string
	if err := json.Unmarshal(msg.Content, &s); err == nil {
		return userPrompt{text: s, content: msg.Content}, nil
	}
	var blocks []struct {
		Type   string `json:"type"`
		Text   string `json:"text"`
		Source struct {
			Type      string `json:"type"`
			MediaType string `json:"media_type"`
			Data      string `json:"data"`
		} `json:"source"`
	}
	if err := json.Unmarshal(msg.Content, &blocks); err != nil {
		return userPrompt{}, errors.New("user message content must be a string or an array of blocks")
	}
	parts := make([]string, 0, len(blocks))
	for _, b := range blocks {
		switch b.Type {
		case "text":
			parts = append(parts, b.Text)
		case "image":
			n := 0
			if b.Source.Type == "base64" {
				dec, err := base64.StdEncoding.DecodeString(b.Source.Data)
				if err != nil {
					return userPrompt{}, fmt.Errorf("image block: bad base64: %v", err)
				}
				n = len(dec)
			}
			parts = append(parts, fmt.Sprintf("[image %s %d bytes]", b.Source.MediaType, n))
		default:
			return userPrompt{}, fmt.Errorf("unsupported content block type %q", b.Type)
		}
	}
	return userPrompt{text: strings.Join(parts, "\n"), content: msg.Content}, nil
}

// controlResponse is the host's answer to one of mockcli's requests.
type controlResponse struct {
	Subtype   string          `json:"subtype"`
	RequestID string          `json:"request_id"`
	Response  json.RawMessage `json:"response"`
	Error     string          `json:"error"`
}

func parseControlResponse(raw json.RawMessage) (controlResponse, error) {
	var cr controlResponse
	if err := json.Unmarshal(raw, &cr); err != nil {
		return cr, fmt.Errorf("control_response: %v", err)
	}
	if cr.RequestID == "" {
		return cr, errors.New("control_response without request_id")
	}
	return cr, nil
}

// controlRequest is a request from the host (initialize, interrupt, ...).
type controlRequest struct {
	Subtype string `json:"subtype"`
	Hooks   map[string][]struct {
		Matcher         string   `json:"matcher"`
		HookCallbackIDs []string `json:"hookCallbackIds"`
	} `json:"hooks"`
	Model string `json:"model"`
	Mode  string `json:"mode"`
}

func parseControlRequest(raw json.RawMessage) (controlRequest, error) {
	var cr controlRequest
	if len(raw) == 0 {
		return cr, errors.New("control_request without request")
	}
	if err := json.Unmarshal(raw, &cr); err != nil {
		return cr, fmt.Errorf("control_request: %v", err)
	}
	return cr, nil
}
