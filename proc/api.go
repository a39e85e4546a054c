// Package proc runs one agent CLI process and speaks its stream-json protocol.
//
// This file is the package's contract with core/ and the tests: keep the
// exported names and their meaning stable; change DESIGN.md with it.
package proc

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/sirupsen/logrus"
)

// Kind names an agent CLI. Kinds differ only in argv and event parsing.
type Kind string

const (
	KindMock     Kind = "mock"     // mockcli: Claude Code's protocol, scripted
	KindClaude   Kind = "claude"   // the Claude Code CLI
	KindOpenCode Kind = "opencode" // reserved
)

// Config describes one agent process.
type Config struct {
	Kind Kind
	Path string // binary to run
	Dir  string // working directory ("" = inherit)
	Home string // HOME for the child ("" = the parent's HOME)

	// SessionID is passed as --session-id on a fresh start, or as
	// --resume <id> when Resume is set.
	SessionID string
	Resume    bool
	Model     string

	// Env is the environment to filter (nil: os.Environ()). Only the
	// allow-list (see AgentEnv) and the names in PassEnv reach the child.
	Env     []string
	PassEnv []string

	// Hooks are registered in an initialize control_request written before
	// the first turn. Empty: no initialize request.
	Hooks []HookMatcher
	// PermissionPrompt adds --permission-prompt-tool stdio.
	PermissionPrompt bool
	// Control answers the CLI's control requests (can_use_tool,
	// hook_callback). nil: hooks get {} and can_use_tool is denied.
	Control ControlHandler

	// PIDDir, when set, holds one file per live child so that a later run
	// can find and stop children left by a crashed bridge (ReapOrphans).
	PIDDir string

	Log       logrus.FieldLogger // stderr lines and lifecycle; nil: discard
	StopGrace time.Duration      // wait per stop stage; 0: 3s
	ExtraArgs []string
}

// HookMatcher registers one PreToolUse hook: matcher is a tool-name
// pattern ("Bash", "Write|Edit"), CallbackID comes back in hook_callback.
type HookMatcher struct {
	Matcher    string
	CallbackID string
}

// UserMessage is one user turn.
type UserMessage struct {
	Text   string
	Images []Image
}

// Image is an attachment sent as a base64 image content block.
type Image struct {
	MediaType string // e.g. image/png
	Data      []byte
}

// EventType classifies one stdout line.
type EventType uint8

const (
	EventOther      EventType = iota // anything else (status, message_start, …)
	EventInit                        // system/init: SessionID, Text = model
	EventTextDelta                   // stream_event text_delta: Text is the increment
	EventText                        // assistant text block: Text is the block
	EventToolUse                     // assistant tool_use: ToolName, ToolUseID, Input
	EventToolResult                  // user tool_result: ToolUseID, Text, IsError
	EventRetry                       // system/api_retry
	EventResult                      // result: Result is set; the turn is over
)

// Event is one parsed stdout line. The pointer passed to a turn's handler is
// only valid during the call.
type Event struct {
	Type      EventType
	Subtype   string
	Text      string
	SessionID string
	ToolName  string
	ToolUseID string
	Input     json.RawMessage
	IsError   bool
	Result    *Result
	Raw       []byte
}

// Result is the CLI's result line.
type Result struct {
	Subtype        string // success, error_during_execution, …
	IsError        bool
	Text           string // the final reply text ("result")
	SessionID      string
	DurationMS     int64
	NumTurns       int
	APIErrorStatus int      // 0 when null
	Errors         []string // "errors", e.g. unknown --resume id
	Denials        []Denial // permission_denials
}

// Denial is one entry of permission_denials.
type Denial struct {
	ToolName  string          `json:"tool_name"`
	ToolUseID string          `json:"tool_use_id"`
	Input     json.RawMessage `json:"tool_input"`
}

// ControlRequest is a request from the CLI to the host.
type ControlRequest struct {
	RequestID  string
	Subtype    string // can_use_tool, hook_callback
	ToolName   string
	Input      json.RawMessage // can_use_tool input / hook tool_input
	ToolUseID  string
	CallbackID string // hook_callback
	HookEvent  string // hook_event_name, e.g. PreToolUse
	Reason     string // can_use_tool decision_reason
	Raw        json.RawMessage
}

// ControlHandler answers control requests. Each call runs on its own
// goroutine; ctx ends when the CLI withdraws the request
// (control_cancel_request), the process exits, or Stop is called. The
// returned value is marshalled as the response body; an error is sent as
// an error control_response.
type ControlHandler interface {
	HandleControl(ctx context.Context, req ControlRequest) (any, error)
}

// Errors returned by Process methods.
var (
	ErrExited = errors.New("agent process exited") // wrapped with exit status and stderr tail
	ErrBusy   = errors.New("a turn is already running")
	ErrClosed = errors.New("agent process is stopping")
)
