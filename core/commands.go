package core

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// HelpText describes the commands, whatever the platform's spelling.
const HelpText = `Commands:
  new / reset  forget this thread's conversation; the next message starts a new one
  stop         interrupt the agent's current turn (queued messages still run)
  status       show this thread's session
  help         this text
Any other message is sent to the agent; messages sent while it works are queued and answered in order.`

// ParseCmd recognises a command word ("reset", "/reset", "Status").
func ParseCmd(text string) (Cmd, bool) {
	w := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(text), "/"))
	switch Cmd(w) {
	case CmdNew, CmdReset, CmdStop, CmdStatus, CmdHelp:
		return Cmd(w), true
	}
	return "", false
}

// Command runs a session command and returns the text to show.
func (r *Router) Command(ctx context.Context, key string, cmd Cmd) (string, error) {
	switch cmd {
	case CmdHelp:
		return HelpText, nil
	case CmdStatus:
		return r.status(ctx, key), nil
	case CmdStop, CmdNew, CmdReset:
	default:
		return "", ErrUnknownCmd
	}
	s, err := r.session(key)
	if err != nil {
		return "", err
	}
	if cmd == CmdStop {
		if s.interrupt(errStopped) {
			return "Stopping the current turn.", nil
		}
		return "Nothing is running in this thread.", nil
	}
	s.mu.Lock()
	busy := s.turning
	s.mu.Unlock()
	s.reset()
	if busy {
		s.interrupt(errStopped)
		return "Stopping the current turn; the conversation starts afresh after it.", nil
	}
	return "Done: the next message starts a new conversation.", nil
}

func (r *Router) status(ctx context.Context, key string) string {
	r.mu.Lock()
	s := r.sessions[key]
	r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "Session %s\n", key)
	if s == nil {
		rec, err := r.cfg.Store.Get(ctx, key)
		if err != nil {
			b.WriteString("No agent is running for this thread; the next message starts one.")
			return b.String()
		}
		fmt.Fprintf(&b, "Agent stopped (%s); %d turns; last active %s ago; the next message resumes it.", rec.State, rec.Turns, time.Since(rec.LastActive).Round(time.Second))
		return b.String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	state := "stopped; the next message starts it"
	if s.agent != nil {
		state = fmt.Sprintf("warm (pid %d)", s.agent.PID())
	}
	work := "idle"
	if s.turning {
		work = "working on a message"
	}
	fmt.Fprintf(&b, "Agent: %s, %s, %d queued\nConversation: %s, %d turns", state, work, len(s.queue), orNone(s.rec.SessionID), s.rec.Turns)
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "new"
	}
	return s
}
