// Package contract holds the contract test against the real Claude Code
// CLI (build tag contract, run by contract/run.sh) and, untagged, the
// helpers that reduce a stream-json transcript to comparable shapes so the
// real CLI and mockcli can be cross-checked.
package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Shape is one stdout line reduced to what must match between the real
// CLI and mockcli: a label naming its type (and subtypes) and the set of
// its top-level keys.
type Shape struct {
	Label string
	Keys  []string // sorted key paths: "a", "a.b", "a[].b", to keyDepth
}

const (
	keyDepth = 3   // message.content[].type is as deep as the protocol matters
	maxKeys  = 512 // per line, so a hostile line cannot grow a shape unbounded
)

// opaque names values whose keys are data, not protocol: a tool's input,
// per-model usage keyed by model name.
var opaque = map[string]bool{"input": true, "tool_input": true, "updatedInput": true, "modelUsage": true}

type lineHead struct {
	Type     string          `json:"type"`
	Subtype  string          `json:"subtype"`
	IsError  *bool           `json:"is_error"`
	Event    *streamEvent    `json:"event"`
	Message  json.RawMessage `json:"message"`
	Request  *subtyped       `json:"request"`
	Response *subtyped       `json:"response"`
}

type streamEvent struct {
	Type         string    `json:"type"`
	Delta        *subtyped `json:"delta"`
	ContentBlock *subtyped `json:"content_block"`
}

type subtyped struct {
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
}

// ShapeOf labels one stdout line, e.g. "system/init",
// "stream_event/content_block_delta/text_delta", "assistant/tool_use",
// "result/error_during_execution/is_error", "control_request/can_use_tool".
func ShapeOf(line []byte) (Shape, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(line, &keys); err != nil {
		return Shape{}, fmt.Errorf("not a JSON object: %w", err)
	}
	var h lineHead
	if err := json.Unmarshal(line, &h); err != nil {
		return Shape{}, fmt.Errorf("unexpected field types: %w", err)
	}
	if h.Type == "" {
		return Shape{}, errors.New("line has no type")
	}
	s := Shape{Label: label(&h)}
	set := map[string]bool{}
	addPaths(set, "", keys, 1)
	for k := range set {
		s.Keys = append(s.Keys, k)
	}
	sort.Strings(s.Keys)
	return s, nil
}

// addPaths records the keys of obj under prefix and descends into object
// and array-of-object values until keyDepth.
func addPaths(set map[string]bool, prefix string, obj map[string]json.RawMessage, depth int) {
	for k, v := range obj {
		if len(set) >= maxKeys {
			return
		}
		path := prefix + k
		set[path] = true
		if depth >= keyDepth || opaque[k] {
			continue
		}
		var sub map[string]json.RawMessage
		if json.Unmarshal(v, &sub) == nil {
			addPaths(set, path+".", sub, depth+1)
			continue
		}
		var arr []map[string]json.RawMessage
		if json.Unmarshal(v, &arr) == nil {
			for _, el := range arr {
				addPaths(set, path+"[].", el, depth+1)
			}
		}
	}
}

func label(h *lineHead) string {
	parts := []string{h.Type}
	switch h.Type {
	case "system":
		parts = append(parts, h.Subtype)
	case "stream_event":
		if e := h.Event; e != nil {
			parts = append(parts, e.Type)
			if e.Delta != nil && e.Delta.Type != "" {
				parts = append(parts, e.Delta.Type)
			}
			if e.ContentBlock != nil {
				parts = append(parts, e.ContentBlock.Type)
			}
		}
	case "assistant", "user":
		var m struct {
			Content json.RawMessage `json:"content"`
		}
		if json.Unmarshal(h.Message, &m) == nil && m.Content != nil {
			parts = append(parts, blockTypes(m.Content))
		}
	case "result":
		parts = append(parts, h.Subtype)
		if h.IsError != nil && *h.IsError {
			parts = append(parts, "is_error")
		}
	case "control_request":
		if h.Request != nil {
			parts = append(parts, h.Request.Subtype)
		}
	case "control_response":
		if h.Response != nil {
			parts = append(parts, h.Response.Subtype)
		}
	}
	return strings.Join(parts, "/")
}

// blockTypes names a message's content: "text" for a string, otherwise the
// block types joined with "+".
func blockTypes(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return "text"
	}
	var blocks []subtyped
	if json.Unmarshal(raw, &blocks) != nil {
		return "?"
	}
	names := make([]string, len(blocks))
	for i, b := range blocks {
		names[i] = b.Type
	}
	return strings.Join(names, "+")
}

// Sequence labels every line and folds runs of identical delta labels into
// one ending in "*": how the API chunks text is the fake's business, not
// the protocol's. Lines starting "#IN " (recordings' stdin) are skipped.
func Sequence(lines [][]byte) ([]Shape, error) {
	var out []Shape
	for i, line := range lines {
		if strings.HasPrefix(string(line), "#IN ") || len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		s, err := ShapeOf(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if strings.Contains(s.Label, "content_block_delta") {
			s.Label += "*"
			if n := len(out); n > 0 && out[n-1].Label == s.Label {
				out[n-1].Keys = union(out[n-1].Keys, s.Keys)
				continue
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func union(a, b []string) []string {
	set := map[string]bool{}
	for _, k := range a {
		set[k] = true
	}
	for _, k := range b {
		set[k] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Group names the stream a label belongs to. The real CLI interleaves its
// raw API stream, its own messages and its control requests as timing
// allows (a hook_callback can come before or after message_stop), so each
// group is compared on its own, in order.
func Group(label string) string {
	switch {
	case strings.HasPrefix(label, "stream_event"):
		return "stream"
	case strings.HasPrefix(label, "control_"):
		return "control"
	}
	return "messages"
}

// Groups lists the groups in report order.
var Groups = []string{"messages", "stream", "control"}

// Project keeps the shapes of one group.
func Project(seq []Shape, group string) []Shape {
	var out []Shape
	for _, s := range seq {
		if Group(s.Label) == group {
			out = append(out, s)
		}
	}
	return out
}

// Labels returns just the labels of a sequence.
func Labels(seq []Shape) []string {
	out := make([]string, len(seq))
	for i, s := range seq {
		out[i] = s.Label
	}
	return out
}
