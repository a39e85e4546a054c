package main

import (
	"io"
	"sync"
)

// lineWriter buffers whole lines and writes each line with a single write
// call: a line never straddles two writes unless it is bigger than the
// buffer, and then it is written alone in one call. Callers flush before
// they block (sleep, wait for stdin) so the reader sees everything the
// "CLI" has produced so far.
type lineWriter struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	limit int
	dead  bool // after exit was decided nothing more may reach stdout
}

func newLineWriter(w io.Writer, limit int) *lineWriter {
	return &lineWriter{w: w, buf: make([]byte, 0, limit), limit: limit}
}

// write queues one complete line (ending in '\n').
func (lw *lineWriter) write(line []byte) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.dead {
		return
	}
	if len(lw.buf)+len(line) > lw.limit {
		lw.flushLocked()
	}
	if len(line) > lw.limit {
		lw.writeAll(line)
		return
	}
	lw.buf = append(lw.buf, line...)
}

// writeFlush queues a line and flushes at once (answers the peer waits for).
func (lw *lineWriter) writeFlush(line []byte) {
	lw.write(line)
	lw.flush()
}

func (lw *lineWriter) flush() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.flushLocked()
}

// flushThen flushes and runs fn before anyone else may write or seal.
// The transcript is saved this way right after the result line: a SIGTERM
// sent by a host that has seen the result then waits in seal until the
// turn is on disk, so "SIGTERM after result" never loses the turn.
func (lw *lineWriter) flushThen(fn func()) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.flushLocked()
	fn()
}

// seal flushes what was already produced and drops everything after, so a
// dying process writes "nothing more".
func (lw *lineWriter) seal() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.flushLocked()
	lw.dead = true
}

func (lw *lineWriter) flushLocked() {
	if len(lw.buf) == 0 || lw.dead {
		lw.buf = lw.buf[:0]
		return
	}
	lw.writeAll(lw.buf)
	lw.buf = lw.buf[:0]
}

// writeAll ignores errors: a vanished reader means the host is gone, and the
// process ends on stdin EOF or a signal anyway.
func (lw *lineWriter) writeAll(p []byte) {
	if _, err := lw.w.Write(p); err != nil {
		lw.dead = true
	}
}
