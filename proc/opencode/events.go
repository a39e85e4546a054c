package opencode

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxEventBytes bounds one server-sent event. A message.part.updated for a
// tool carries the tool's whole (already truncated by OpenCode) output.
const maxEventBytes = 32 << 20

// errEventTooLong is returned for an event over the limit; the reader has
// skipped it and can go on.
var errEventTooLong = errors.New("opencode: event too long")

// event is one decoded bus event from GET /global/event. Only the fields the
// driver uses are decoded; Raw keeps the payload for proc.Event.Raw.
type event struct {
	Type      string
	Directory string
	Props     props
	Raw       []byte
}

// props is the union of the "properties" of the event types we handle.
type props struct {
	SessionID string `json:"sessionID"`

	// message.updated (a message) and session.created (a session)
	Info *info `json:"info"`
	// message.part.updated
	Part *part `json:"part"`
	// message.part.delta
	MessageID string `json:"messageID"`
	PartID    string `json:"partID"`
	Field     string `json:"field"`
	Delta     string `json:"delta"`
	// session.status
	Status *status `json:"status"`
	// session.error
	Error *apiError `json:"error"`

	// permission.asked
	ID         string          `json:"id"`
	Permission string          `json:"permission"`
	Patterns   []string        `json:"patterns"`
	Metadata   json.RawMessage `json:"metadata"`
	Tool       *permTool       `json:"tool"`
	// permission.replied
	RequestID string `json:"requestID"`
	Reply     string `json:"reply"`
}

// info is a message (role set) or a session (role empty).
type info struct {
	ID        string    `json:"id"`
	Role      string    `json:"role"`
	ParentID  string    `json:"parentID"`
	SessionID string    `json:"sessionID"`
	Finish    string    `json:"finish"`
	Error     *apiError `json:"error"`
	Time      struct {
		Created   int64 `json:"created"`
		Completed int64 `json:"completed"`
	} `json:"time"`
}

// part is one piece of a message: text, reasoning, tool, step-start, …
type part struct {
	ID        string `json:"id"`
	MessageID string `json:"messageID"`
	SessionID string `json:"sessionID"`
	Type      string `json:"type"`
	Text      string `json:"text"`
	Synthetic bool   `json:"synthetic"`
	Ignored   bool   `json:"ignored"`
	Time      *struct {
		Start int64 `json:"start"`
		End   int64 `json:"end"`
	} `json:"time"`
	Tool   string     `json:"tool"`
	CallID string     `json:"callID"`
	State  *toolState `json:"state"`
}

type toolState struct {
	Status string          `json:"status"` // pending, running, completed, error
	Input  json.RawMessage `json:"input"`
	Output string          `json:"output"`
	Error  string          `json:"error"`
}

type status struct {
	Type    string `json:"type"` // idle, busy, retry
	Attempt int    `json:"attempt"`
	Message string `json:"message"`
}

// apiError is OpenCode's NamedError: {name, data{message, statusCode}}.
type apiError struct {
	Name string `json:"name"`
	Data struct {
		Message    string `json:"message"`
		StatusCode int    `json:"statusCode"`
	} `json:"data"`
}

func (e *apiError) text() string {
	if e.Data.Message != "" {
		return e.Name + ": " + e.Data.Message
	}
	return e.Name
}

type permTool struct {
	MessageID string `json:"messageID"`
	CallID    string `json:"callID"`
}

// parseEvent decodes the data of one /global/event event. Its payload
// is {"directory", "payload": {"type", "properties"}}; a bare payload (from
// the per-directory /event) is accepted too. "sync" payloads duplicate the
// bus events for replication and come back with Type "sync".
func parseEvent(data []byte) (*event, error) {
	var env struct {
		Directory string          `json:"directory"`
		Payload   json.RawMessage `json:"payload"`
		Type      string          `json:"type"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("opencode: event: %w", err)
	}
	payload := []byte(env.Payload)
	if len(payload) == 0 || bytes.Equal(payload, []byte("null")) {
		if env.Type == "" {
			return nil, errors.New("opencode: event without payload or type")
		}
		payload = append([]byte(nil), data...) // data is the reader's buffer; Raw outlives it
	}
	var p struct {
		Type       string          `json:"type"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("opencode: event payload: %w", err)
	}
	if p.Type == "" {
		return nil, errors.New("opencode: event payload without type")
	}
	ev := &event{Type: p.Type, Directory: env.Directory, Raw: payload}
	if p.Type == "sync" || len(p.Properties) == 0 || bytes.Equal(p.Properties, []byte("null")) {
		return ev, nil
	}
	if err := json.Unmarshal(p.Properties, &ev.Props); err != nil {
		return nil, fmt.Errorf("opencode: %s properties: %w", p.Type, err)
	}
	return ev, nil
}

// sseReader splits a text/event-stream into the data of each event.
type sseReader struct {
	r     *bufio.Reader
	buf   []byte
	limit int // longest event kept
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10), limit: maxEventBytes}
}

// next returns the data of the next event (data lines joined with "\n").
// Comments, "event:", "id:" and "retry:" lines are ignored. An event over
// the limit is skipped whole and reported as errEventTooLong.
func (s *sseReader) next() ([]byte, error) {
	s.buf = s.buf[:0]
	have, tooLong := false, false
	for {
		line, err := s.line()
		if errors.Is(err, errEventTooLong) {
			tooLong = true
			continue
		}
		if err != nil {
			if err == io.EOF && have && !tooLong {
				return s.buf, nil
			}
			return nil, err
		}
		if len(line) == 0 {
			if tooLong {
				return nil, errEventTooLong
			}
			if have {
				return s.buf, nil
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if string(field) != "data" {
			continue
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if have {
			s.buf = append(s.buf, '\n')
		}
		if len(s.buf)+len(value) > s.limit {
			tooLong = true
			continue
		}
		s.buf = append(s.buf, value...)
		have = true
	}
}

// line reads one line without its line ending; a line longer than
// the limit is consumed and reported as errEventTooLong.
func (s *sseReader) line() ([]byte, error) {
	var long []byte
	n := 0
	for {
		chunk, err := s.r.ReadSlice('\n')
		n += len(chunk)
		if errors.Is(err, bufio.ErrBufferFull) {
			if n <= s.limit {
				long = append(long, chunk...)
			}
			continue
		}
		if err != nil && (err != io.EOF || n == 0) {
			return nil, err
		}
		if n > s.limit {
			return nil, errEventTooLong
		}
		if long != nil {
			chunk = append(long, chunk...)
		}
		chunk = bytes.TrimSuffix(chunk, []byte("\n"))
		return bytes.TrimSuffix(chunk, []byte("\r")), nil
	}
}
