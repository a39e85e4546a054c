// Package core owns sessions: one warm agent per session key, a FIFO of the
// messages that arrive mid-turn, and the callbacks that carry a turn's
// events to the platform adapter. It imports no platform package.
//
// This file is the contract with the adapters; keep it stable.
package core

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Inbound is one accepted chat message. The adapter has already
// acknowledged the platform event, dropped duplicates and checked access.
type Inbound struct {
	Key         string // platform:workspace:channel:thread
	Text        string // the bot's own mention stripped, otherwise verbatim
	Attachments []Attachment
	Author      string // platform user id
	AuthorName  string
	MessageID   string // platform id of the user's message
	Reply       Responder
}

// Attachment is a file the user sent with the message.
type Attachment struct {
	Name      string
	MediaType string
	Data      []byte
}

// Responder receives one message's life, in this order: Queued (only if it
// had to wait), Started, then any of Delta/ToolUse/Notice/Approve, then
// exactly one of Done or Failed. Calls for one message never overlap; Delta,
// ToolUse and Notice must not block on the network (buffer and coalesce).
// Started may run inside Submit, and Delta, ToolUse and Done usually run on
// the agent's stdout reader: none of them may call the Router's commands
// and wait for the answer (a reset waits for that reader to stop).
type Responder interface {
	Queued(position int)          // waiting behind position-1 other messages
	Started()                     // the agent is working on this message
	Delta(text string)            // incremental reply text
	ToolUse(tool, summary string) // the agent runs a tool (summary: e.g. the command)
	Notice(text string)           // a message in the bridge's own words (firewall denial, timeout)
	// Approve asks a human. It blocks until a decision or until ctx ends
	// (approval timeout, request withdrawn, shutdown); then it must remove
	// the buttons and return ctx.Err().
	Approve(ctx context.Context, req Approval) (Decision, error)
	Done(res Result)  // the turn ended with a result (IsError: an API error)
	Failed(err error) // the turn ended without a result; err.Error() is for the user
}

// Approval is a permission request shown to humans.
type Approval struct {
	ID      string // request id; goes into button values / custom ids
	Tool    string
	Command string // what the tool will do: the Bash command, the file path
	Input   json.RawMessage
	Reason  string // why it asks: the CLI's decision reason or the firewall rule
	Rule    string // firewall rule id, when the firewall asked
}

// Decision is a human's answer.
type Decision struct {
	Allow bool
	By    string // who decided (display name or user id)
}

// Result is a finished turn.
type Result struct {
	Text        string // the agent's result, exactly
	IsError     bool
	SessionID   string
	Duration    time.Duration
	Interrupted bool // ended by stop
}

// Cmd is a session command.
type Cmd string

const (
	CmdNew    Cmd = "new"    // forget the conversation; the next message starts fresh
	CmdReset  Cmd = "reset"  // same as new
	CmdStop   Cmd = "stop"   // interrupt the running turn
	CmdStatus Cmd = "status" // describe the session
	CmdHelp   Cmd = "help"
)

// Errors from Submit and Command. Their text is fit for users.
var (
	ErrQueueFull  = errors.New("this thread already has the maximum number of queued messages; please wait for the current replies")
	ErrClosed     = errors.New("the bridge is shutting down; please resend in a moment")
	ErrUnknownCmd = errors.New("unknown command; try help")
)
