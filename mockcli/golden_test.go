package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The golden test replays the stdin side of every recording of the real
// CLI into mockcli and compares what comes back, line by line: event
// types/subtypes, top-level key sets (and key order for result lines), and
// key fields. Consecutive text/json deltas are compared as one group since
// chunking is the fake model's choice.

func protocolDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(moduleRoot(), "..", "shared", "protocol", "claude-code-2.1.332")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("recordings not found at %s (the repo must sit next to shared/, as in CI): %v", dir, err)
	}
	return dir
}

type recItem struct {
	in  bool
	raw []byte
	ev  event
}

func loadRecording(t *testing.T, path string) []recItem {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var items []recItem
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		line = bytes.TrimRight(line, "\n")
		if len(line) > 0 {
			if in, ok := bytes.CutPrefix(line, []byte("#IN ")); ok {
				items = append(items, recItem{in: true, raw: in})
			} else {
				ev := event{raw: line}
				if jerr := json.Unmarshal(line, &ev.m); jerr != nil {
					t.Fatalf("%s: bad recorded line: %v", path, jerr)
				}
				items = append(items, recItem{ev: ev})
			}
		}
		if err != nil {
			return items
		}
	}
}

// flagsFor derives the argv the recording implies.
func flagsFor(name string, items []recItem) []string {
	var flags []string
	has := func(pred func(event) bool) bool {
		return slices.ContainsFunc(items, func(it recItem) bool { return !it.in && pred(it.ev) })
	}
	if has(func(e event) bool { return e.str("type") == "stream_event" }) {
		flags = append(flags, "--include-partial-messages")
	}
	if has(func(e event) bool { return e.str("request", "subtype") == "can_use_tool" }) {
		flags = append(flags, "--permission-prompt-tool", "stdio")
	}
	sid := ""
	for _, it := range items {
		if !it.in && it.ev.str("session_id") != "" {
			sid = it.ev.str("session_id")
			break
		}
	}
	switch name {
	case "resume_a.jsonl":
		flags = append(flags, "--session-id", sid)
	case "resume_b.jsonl", "resume_unknown.jsonl":
		flags = append(flags, "--resume="+sid) // the --flag=value form
	}
	return flags
}

var slowRE = regexp.MustCompile(`SLOW:\d+`)

func isDelta(e event) bool {
	return e.str("type") == "stream_event" && e.str("event", "type") == "content_block_delta"
}

func TestGolden(t *testing.T) {
	dir := protocolDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings in %s", dir)
	}
	// resume_a then resume_b run in one HOME and cwd (Glob sorts a before b);
	// resume_unknown shares them too, its id is simply not there.
	resume := newEnv(t)
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".jsonl"), func(t *testing.T) {
			e := resume
			if !strings.HasPrefix(name, "resume_") {
				e = newEnv(t)
			}
			replay(t, name, loadRecording(t, path), e)
		})
	}
}

func replay(t *testing.T, name string, items []recItem, e env) {
	c := start(t, e, flagsFor(name, items)...)
	ids := map[string]string{} // recorded request_id -> mock's
	var mockPrev, recPrev event
	interrupts := slices.ContainsFunc(items, func(it recItem) bool {
		return it.in && bytes.Contains(it.raw, []byte(`"subtype":"interrupt"`))
	})
	for i, it := range items {
		if it.in {
			line := rewriteIDs(t, it.raw, ids)
			if interrupts {
				// The interrupted reply must still be streaming when the
				// interrupt lands, however slow this machine is: stretch
				// SLOW so the test cannot race the reply's end.
				line = slowRE.ReplaceAllString(line, "SLOW:600000")
			}
			c.send(line)
			continue
		}
		if isDelta(it.ev) && isDelta(recPrev) {
			continue // grouped with the previous delta
		}
		recPrev = it.ev
		ev := c.next()
		for isDelta(ev) && isDelta(mockPrev) {
			ev = c.next()
		}
		mockPrev = ev
		compareLine(t, name, i, it.ev, ev, e)
		if id := it.ev.str("request_id"); id != "" && it.ev.str("type") == "control_request" {
			ids[id] = ev.str("request_id")
		}
	}
	wantCode := 0
	if name == "malformed.jsonl" || name == "resume_unknown.jsonl" {
		wantCode = 1
	}
	code, rest := c.closeAndExit()
	rest = slices.DeleteFunc(rest, func(ev event) bool { return isDelta(ev) && isDelta(mockPrev) })
	if len(rest) > 0 {
		t.Errorf("%s: %d extra stdout lines, first: %.200s", name, len(rest), rest[0].raw)
	}
	if code != wantCode {
		t.Errorf("%s: exit status %d, want %d; stderr:\n%s", name, code, wantCode, c.stderr.String())
	}
}

// rewriteIDs points a recorded answer at the request id mockcli used.
func rewriteIDs(t *testing.T, raw []byte, ids map[string]string) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || m["type"] != "control_response" {
		return string(raw)
	}
	resp, _ := m["response"].(map[string]any)
	old, _ := resp["request_id"].(string)
	nw, ok := ids[old]
	if !ok {
		t.Fatalf("recorded answer to unknown request %q", old)
	}
	resp["request_id"] = nw
	b, _ := json.Marshal(m)
	return string(b)
}

func compareLine(t *testing.T, name string, i int, want, got event, e env) {
	t.Helper()
	where := func() string { return name + " line " + strconv.Itoa(i+1) + " (" + want.sig() + ")" }
	if got.sig() != want.sig() {
		t.Fatalf("%s: got %s: %.300s", where(), got.sig(), got.raw)
	}
	if wk, gk := keysOf(want.raw), keysOf(got.raw); !sameSet(wk, gk) {
		t.Errorf("%s: top-level keys\n got %v\nwant %v", where(), gk, wk)
	} else if want.str("type") == "result" && !reflect.DeepEqual(wk, gk) {
		t.Errorf("%s: result key order\n got %v\nwant %v", where(), gk, wk)
	}
	if missing, extra := diffPaths(want.m, got.m); len(missing)+len(extra) > 0 {
		t.Errorf("%s: nested keys: missing %v, extra %v", where(), missing, extra)
	}
	switch want.str("type") {
	case "result":
		for _, k := range []string{"is_error", "subtype", "api_error_status", "num_turns", "stop_reason", "terminal_reason", "api_error_type"} {
			if !reflect.DeepEqual(want.get(k), got.get(k)) {
				t.Errorf("%s: %s = %v, want %v", where(), k, got.get(k), want.get(k))
			}
		}
		if wr, gr := want.get("result"), got.get("result"); wr != gr {
			t.Errorf("%s: result %q, want %q", where(), gr, wr)
		}
		wd, _ := want.get("permission_denials").([]any)
		gd, _ := got.get("permission_denials").([]any)
		if len(wd) != len(gd) {
			t.Errorf("%s: %d permission_denials, want %d", where(), len(gd), len(wd))
		}
		checkSession(t, where(), name, want, got)
	case "system":
		checkSession(t, where(), name, want, got)
		if want.str("subtype") == "init" {
			if got.str("cwd") != e.dir || got.str("model") != want.str("model") {
				t.Errorf("%s: cwd %q model %q, want %q %q", where(), got.str("cwd"), got.str("model"), e.dir, want.str("model"))
			}
		}
		if want.str("subtype") == "api_retry" && got.get("error_status") != want.get("error_status") {
			t.Errorf("%s: error_status %v, want %v", where(), got.get("error_status"), want.get("error_status"))
		}
	case "assistant", "user":
		if w, g := contentShape(want), contentShape(got); w != g {
			t.Errorf("%s: content %s, want %s", where(), g, w)
		}
	case "control_request":
		for _, k := range []string{"callback_id", "tool_name"} {
			if want.get("request", k) != got.get("request", k) {
				t.Errorf("%s: request.%s = %v, want %v", where(), k, got.get("request", k), want.get("request", k))
			}
		}
	case "control_response":
		wb, _ := json.Marshal(want.get("response", "response"))
		gb, _ := json.Marshal(got.get("response", "response"))
		if !sameSet(keysOf(wb), keysOf(gb)) {
			t.Errorf("%s: response keys %v, want %v", where(), keysOf(gb), keysOf(wb))
		}
	case "stream_event":
		if w, g := want.str("event", "content_block", "type"), got.str("event", "content_block", "type"); w != g {
			t.Errorf("%s: content_block type %q, want %q", where(), g, w)
		}
		if w, g := want.str("event", "delta", "type"), got.str("event", "delta", "type"); w != g {
			t.Errorf("%s: delta type %q, want %q", where(), g, w)
		}
		if w, g := want.get("event", "delta", "stop_reason"), got.get("event", "delta", "stop_reason"); w != g {
			t.Errorf("%s: stop_reason %v, want %v", where(), g, w)
		}
	}
}

// checkSession: resume files must keep the recorded id; others just need one.
func checkSession(t *testing.T, where, name string, want, got event) {
	t.Helper()
	gs := got.str("session_id")
	if !uuidRE.MatchString(gs) {
		t.Errorf("%s: session_id %q is not a UUID", where, gs)
	}
	if strings.HasPrefix(name, "resume_") && gs != want.str("session_id") {
		t.Errorf("%s: session_id %q, want %q", where, gs, want.str("session_id"))
	}
}

// contentShape summarises message content: block types, error flags, text
// of ECHO replies and tool commands.
func contentShape(e event) string {
	blocks, _ := e.get("message", "content").([]any)
	var parts []string
	for _, b := range blocks {
		m, _ := b.(map[string]any)
		s, _ := m["type"].(string)
		if isErr, _ := m["is_error"].(bool); isErr {
			s += "(error)"
		}
		aborted, _ := e.get("aborted").(bool) // its text depends on chunking
		if txt, _ := m["text"].(string); !aborted && strings.HasPrefix(txt, "ECHO: ") || strings.HasPrefix(txt, "[Request") {
			s += ":" + txt
		}
		if in, ok := m["input"].(map[string]any); ok {
			s += ":" + in["command"].(string)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

func keysOf(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var keys []string
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return keys
		}
	}
	return keys
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// opaquePaths hold data rather than protocol (tool input, per-model usage).
var opaquePaths = map[string]bool{"input": true, "tool_input": true, "updatedInput": true, "modelUsage": true,
	"model_usage_since_last_result": true}

// keyPaths lists key paths ("a", "a.b", "a[].b") three levels deep.
func keyPaths(set map[string]bool, prefix string, v any, depth int) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			set[p] = true
			if depth < 3 && !opaquePaths[k] {
				keyPaths(set, p, child, depth+1)
			}
		}
	case []any:
		for _, child := range x {
			keyPaths(set, prefix+"[]", child, depth)
		}
	}
}

func diffPaths(want, got map[string]any) (missing, extra []string) {
	w, g := map[string]bool{}, map[string]bool{}
	keyPaths(w, "", want, 1)
	keyPaths(g, "", got, 1)
	for k := range w {
		if !g[k] {
			missing = append(missing, k)
		}
	}
	for k := range g {
		if !w[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}
