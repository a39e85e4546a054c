package proc

import (
	"bytes"
	"errors"
	"sync"
)

// ErrLineTooLong is returned by a Turn when the agent wrote a stdout line
// longer than the 64 MB limit; the line is discarded. If the discarded line
// was the turn's result the process is ready for the next turn; otherwise
// the next Turn waits for the result as after a ctx timeout.
var ErrLineTooLong = errors.New("proc: agent stdout line longer than 64 MB")

// lineLimit is read once per Process; tests lower it.
var lineLimit = maxLineBytes

// lineBufs holds the buffers of lines that span reads. They go back as soon
// as the line has been handled, so an agent waiting for output keeps none.
var lineBufs = sync.Pool{New: func() any { return new([]byte) }}

// splitter cuts a byte stream into lines. A line inside one chunk is handed
// out as a slice of that chunk; only a line that spans chunks is copied.
// Lines (without "\n" or "\r\n") and the slices into them are valid only
// during the callback.
type splitter struct {
	limit   int
	line    func([]byte)
	tooLong func(result bool) // a line over limit was discarded

	pending   *[]byte // the start of a line that spans chunks, or nil
	discard   bool    // skipping the rest of an over-long line
	sawResult bool    // the discarded line carried resultMark
	tail      []byte  // the discarded part's last bytes, for a split mark
}

// feed consumes one chunk.
func (s *splitter) feed(chunk []byte) {
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			s.carry(chunk)
			return
		}
		s.complete(chunk[:i])
		chunk = chunk[i+1:]
	}
}

// end hands out a last line that had no newline.
func (s *splitter) end() {
	switch {
	case s.discard:
		s.endDiscard()
	case s.pending != nil:
		s.emit(*s.pending)
		s.release()
	}
}

// complete ends the current line with part.
func (s *splitter) complete(part []byte) {
	switch {
	case s.discard:
		s.skip(part)
		s.endDiscard()
	case s.pending == nil && len(part) > s.limit:
		s.tooLong(bytes.Contains(part, resultMark))
	case s.pending == nil:
		s.emit(part)
	case len(*s.pending)+len(part) > s.limit:
		saw := bytes.Contains(*s.pending, resultMark) || containsAcross(tailOf(*s.pending), part)
		s.release()
		s.tooLong(saw)
	default:
		*s.pending = append(*s.pending, part...)
		s.emit(*s.pending)
		s.release()
	}
}

// carry keeps the start of a line whose end is in a later chunk.
func (s *splitter) carry(part []byte) {
	if s.discard {
		s.skip(part)
		return
	}
	n := len(part)
	if s.pending != nil {
		n += len(*s.pending)
	}
	if n > s.limit {
		s.discard, s.tail = true, nil
		if s.pending != nil {
			s.sawResult = bytes.Contains(*s.pending, resultMark)
			s.tail = tailOf(*s.pending)
			s.release()
		}
		s.skip(part)
		return
	}
	if s.pending == nil {
		s.pending = lineBufs.Get().(*[]byte)
		*s.pending = (*s.pending)[:0]
	}
	*s.pending = append(*s.pending, part...)
}

func (s *splitter) skip(part []byte) {
	if !s.sawResult {
		s.sawResult = containsAcross(s.tail, part)
		s.tail = tailOf(part)
	}
}

func (s *splitter) endDiscard() {
	saw := s.sawResult
	s.discard, s.sawResult, s.tail = false, false, nil
	s.tooLong(saw)
}

func (s *splitter) emit(line []byte) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	s.line(line)
}

// release gives the pending buffer back; a huge one is left to the GC.
func (s *splitter) release() {
	if cap(*s.pending) <= keepLineBuf {
		lineBufs.Put(s.pending)
	}
	s.pending = nil
}

// resultMark can only occur in raw stream-json as a real member: inside a
// string its quotes would be escaped. It lets an over-long line that was a
// result still end its turn.
var resultMark = []byte(`"type":"result"`)

// tailOf keeps the bytes a resultMark split across reads may start with.
func tailOf(b []byte) []byte {
	if n := len(resultMark) - 1; len(b) > n {
		b = b[len(b)-n:]
	}
	return append([]byte(nil), b...)
}

// containsAcross reports whether resultMark is in chunk or straddles the
// end of the previous chunk (tail) and chunk.
func containsAcross(tail, chunk []byte) bool {
	joined := append(tail, chunk[:min(len(chunk), len(resultMark)-1)]...)
	return bytes.Contains(joined, resultMark) || bytes.Contains(chunk, resultMark)
}
