package proc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// ErrLineTooLong is returned by a Turn when the agent wrote a stdout line
// longer than the 64 MB limit; the line is discarded. If the discarded line
// was the turn's result the process is ready for the next turn; otherwise
// the next Turn waits for the result as after a ctx timeout.
var ErrLineTooLong = errors.New("proc: agent stdout line longer than 64 MB")

// lineLimit is read once per Process; tests lower it.
var lineLimit = maxLineBytes

// lineTooLong reports a discarded line and whether it held a result.
type lineTooLong struct{ result bool }

func (e *lineTooLong) Error() string { return ErrLineTooLong.Error() }
func (e *lineTooLong) Unwrap() error { return ErrLineTooLong }

// readLine returns the next line without its newline. Short lines are
// slices of br's buffer; long ones are accumulated in *acc, which is reused.
func readLine(br *bufio.Reader, acc *[]byte, limit int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case err == nil:
		return trimEOL(line), nil
	case errors.Is(err, io.EOF) && len(line) > 0:
		return trimEOL(line), nil // last line without newline
	case !errors.Is(err, bufio.ErrBufferFull):
		return nil, err
	}
	buf := append((*acc)[:0], line...)
	for {
		line, err = br.ReadSlice('\n')
		if len(buf)+len(line) > limit {
			saw := bytes.Contains(buf, resultMark) || containsAcross(tailOf(buf), line)
			tail := tailOf(line)
			*acc = nil
			return nil, discardLine(br, err, saw, tail)
		}
		buf = append(buf, line...)
		*acc = buf
		switch {
		case err == nil || errors.Is(err, io.EOF):
			return trimEOL(buf), nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		}
	}
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

// discardLine skips the rest of an over-long line, noting whether it
// carried resultMark.
func discardLine(br *bufio.Reader, err error, sawResult bool, tail []byte) error {
	for errors.Is(err, bufio.ErrBufferFull) {
		var chunk []byte
		chunk, err = br.ReadSlice('\n')
		if !sawResult {
			sawResult = containsAcross(tail, chunk)
			tail = tailOf(chunk)
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return &lineTooLong{result: sawResult}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
