package fakeanthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

type usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	CacheCreate  int `json:"cache_creation_input_tokens"`
	CacheRead    int `json:"cache_read_input_tokens"`
}

func messageShell(id, model string, inTokens int) map[string]any {
	if model == "" {
		model = Model
	}
	return map[string]any{
		"id": "msg_fake_" + id, "type": "message", "role": "assistant", "model": model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": usage{InputTokens: inTokens, OutputTokens: 1},
	}
}

func toolBlock(id string, input json.RawMessage) map[string]any {
	return map[string]any{"type": "tool_use", "id": "toolu_fake_" + id, "name": "Bash", "input": input}
}

// wholeMessage is the non-streaming answer.
func wholeMessage(id, model string, rep Reply, inTokens int) map[string]any {
	m := messageShell(id, model, inTokens)
	if rep.Kind == ReplyTool {
		m["content"] = []any{toolBlock(id, rep.ToolInput)}
		m["stop_reason"] = "tool_use"
	} else {
		m["content"] = []any{map[string]string{"type": "text", "text": rep.Text}}
		m["stop_reason"] = "end_turn"
	}
	m["usage"] = usage{InputTokens: inTokens, OutputTokens: len(rep.Text)/4 + 1}
	return m
}

// sse writes one server-sent event and flushes it, so that the CLI sees
// each delta when it is written, as it would from the real API.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s sse) send(event string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// streamMessage writes the SSE sequence of the Messages API: message_start,
// content_block_start, deltas, content_block_stop, message_delta,
// message_stop. It stops early when the client goes away (an interrupt).
func streamMessage(ctx context.Context, w http.ResponseWriter, id, model string, rep Reply, inTokens int) error {
	w.Header().Set("content-type", "text/event-stream")
	w.Header().Set("cache-control", "no-cache")
	w.WriteHeader(http.StatusOK)
	s := sse{w: w, rc: http.NewResponseController(w)}
	if err := s.send("message_start", map[string]any{"type": "message_start", "message": messageShell(id, model, inTokens)}); err != nil {
		return err
	}
	var (
		start  any
		deltas []map[string]any
		stop   = "end_turn"
	)
	if rep.Kind == ReplyTool {
		start = toolBlock(id, json.RawMessage(`{}`))
		js := string(rep.ToolInput)
		half := len(js) / 2
		for _, part := range []string{js[:half], js[half:]} {
			deltas = append(deltas, map[string]any{"type": "input_json_delta", "partial_json": part})
		}
		stop = "tool_use"
	} else {
		start = map[string]string{"type": "text", "text": ""}
		for _, c := range chunks(rep.Text, deltaRunes) {
			deltas = append(deltas, map[string]any{"type": "text_delta", "text": c})
		}
	}
	if err := s.send("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": start}); err != nil {
		return err
	}
	for i, d := range deltas {
		if i > 0 && rep.Delay > 0 {
			if err := sleep(ctx, rep.Delay); err != nil {
				return err
			}
		}
		if err := s.send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": d}); err != nil {
			return err
		}
	}
	events := []struct {
		name string
		data any
	}{
		{"content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}},
		{"message_delta", map[string]any{
			"type":  "message_delta",
			"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
			"usage": map[string]int{"output_tokens": len(deltas) + 1},
		}},
		{"message_stop", map[string]any{"type": "message_stop"}},
	}
	for _, e := range events {
		if err := s.send(e.name, e.data); err != nil {
			return err
		}
	}
	return nil
}

var errGone = errors.New("client went away")

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return errGone
	case <-t.C:
		return nil
	}
}
