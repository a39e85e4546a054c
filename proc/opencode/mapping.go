package opencode

import (
	"encoding/json"
	"strings"

	"github.com/hotline-dev/hotline/proc"
)

// maxTracked bounds the per-turn maps: a turn with more parts than this
// still ends correctly (its final text comes from the prompt reply), it
// only stops reporting new parts as events.
const maxTracked = 1 << 16

// turnState maps one turn's bus events to proc events. Events of the
// previous turn can still arrive after its reply (an abort is followed by
// late part updates), so messages seen in that turn are ignored.
type turnState struct {
	prev   map[string]bool   // assistant message ids of the previous turn
	msgs   map[string]bool   // assistant message ids of this turn
	parts  map[string]string // part id -> part type, so deltas of reasoning parts are not reply text
	texts  map[string]bool   // text parts already reported whole
	tools  map[string]string // call id -> tool name, reported as EventToolUse
	inputs map[string]json.RawMessage
	done   map[string]bool // call ids whose result was reported

	// The bus can lag behind the prompt's HTTP answer; the turn's last
	// events are in once the session went idle after being busy (an idle
	// before the first busy is the previous turn's).
	sawBusy, idle bool
}

func newTurnState(prev map[string]bool) *turnState {
	return &turnState{
		prev: prev, msgs: map[string]bool{}, parts: map[string]string{}, texts: map[string]bool{},
		tools: map[string]string{}, inputs: map[string]json.RawMessage{}, done: map[string]bool{},
	}
}

func (t *turnState) ours(messageID string) bool { return t.msgs[messageID] }

// apply maps one event of the turn's session; out receives zero or more
// proc events (valid only during the call).
func (t *turnState) apply(ev *event, out func(*proc.Event)) {
	p := &ev.Props
	switch ev.Type {
	case "message.updated":
		if p.Info != nil && p.Info.Role == "assistant" && !t.prev[p.Info.ID] && len(t.msgs) < maxTracked {
			t.msgs[p.Info.ID] = true
		}
	case "message.part.delta":
		if t.ours(p.MessageID) && p.Field == "text" && t.parts[p.PartID] == "text" && p.Delta != "" {
			out(&proc.Event{Type: proc.EventTextDelta, Text: p.Delta, SessionID: p.SessionID, Raw: ev.Raw})
		}
	case "message.part.updated":
		if p.Part != nil && t.ours(p.Part.MessageID) {
			t.part(ev, p.Part, out)
		}
	case "session.status":
		if p.Status == nil {
			return
		}
		switch p.Status.Type {
		case "retry":
			out(&proc.Event{Type: proc.EventRetry, Subtype: "api_retry", Text: p.Status.Message, SessionID: p.SessionID, Raw: ev.Raw})
		case "busy":
			t.sawBusy, t.idle = true, false
		case "idle":
			t.idle = t.sawBusy
		}
	case "session.idle":
		t.idle = t.sawBusy
	}
}

func (t *turnState) part(ev *event, pt *part, out func(*proc.Event)) {
	if _, known := t.parts[pt.ID]; !known && len(t.parts) < maxTracked {
		t.parts[pt.ID] = pt.Type
	}
	switch pt.Type {
	case "text":
		ended := pt.Time != nil && pt.Time.End != 0
		if ended && !pt.Synthetic && !pt.Ignored && !t.texts[pt.ID] && len(t.texts) < maxTracked {
			t.texts[pt.ID] = true
			out(&proc.Event{Type: proc.EventText, Text: pt.Text, SessionID: pt.SessionID, Raw: ev.Raw})
		}
	case "tool":
		t.tool(ev, pt, out)
	}
}

func (t *turnState) tool(ev *event, pt *part, out func(*proc.Event)) {
	st := pt.State
	if st == nil || pt.CallID == "" || st.Status == "pending" {
		return // pending parts have no input yet
	}
	name, in := toolName(pt.Tool), claudeInput(st.Input)
	if _, seen := t.tools[pt.CallID]; !seen && len(t.tools) < maxTracked {
		t.tools[pt.CallID] = name
		t.inputs[pt.CallID] = in
		out(&proc.Event{Type: proc.EventToolUse, ToolName: name, ToolUseID: pt.CallID, Input: in, SessionID: pt.SessionID, Raw: ev.Raw})
	}
	if (st.Status == "completed" || st.Status == "error") && !t.done[pt.CallID] && len(t.done) < maxTracked {
		t.done[pt.CallID] = true
		text, isErr := st.Output, st.Status == "error"
		if isErr {
			text = st.Error
		}
		out(&proc.Event{Type: proc.EventToolResult, ToolUseID: pt.CallID, Text: text, IsError: isErr, SessionID: pt.SessionID, Raw: ev.Raw})
	}
}

// toolInput returns what the turn knows about a call: its tool name and
// Claude-shaped input.
func (t *turnState) toolInput(callID string) (string, json.RawMessage, bool) {
	name, ok := t.tools[callID]
	return name, t.inputs[callID], ok
}

// toolNames maps OpenCode's tool ids to Claude Code's, so that the firewall
// and the approval texts treat both agents alike.
var toolNames = map[string]string{
	"bash": "Bash", "edit": "Edit", "write": "Write", "multiedit": "MultiEdit",
	"patch": "Edit", "apply_patch": "Edit", "read": "Read", "glob": "Glob",
	"grep": "Grep", "list": "LS", "webfetch": "WebFetch", "websearch": "WebSearch",
	"task": "Task", "todowrite": "TodoWrite", "todoread": "TodoRead",
}

func toolName(id string) string {
	if n, ok := toolNames[strings.ToLower(id)]; ok {
		return n
	}
	return id
}

// claudeInput renames OpenCode's camelCase path keys to Claude Code's
// (filePath -> file_path), which the firewall reads. Anything that is not a
// JSON object is returned as it is.
func claudeInput(in json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if len(in) == 0 || json.Unmarshal(in, &m) != nil || m == nil {
		return in
	}
	changed := false
	for from, to := range map[string]string{"filePath": "file_path", "notebookPath": "notebook_path"} {
		if v, ok := m[from]; ok {
			if _, dup := m[to]; !dup {
				m[to] = v
				changed = true
			}
		}
	}
	if !changed {
		return in
	}
	b, err := json.Marshal(m)
	if err != nil {
		return in
	}
	return b
}
