package proc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// The stdin side: every write is one marshalled JSON value and a newline
// (a non-JSON line kills the CLI), written whole under one mutex.

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      []byte `json:"data"` // encoding/json writes base64
}

type contentBlock struct {
	Type   string       `json:"type"`
	Text   string       `json:"text,omitempty"`
	Source *imageSource `json:"source,omitempty"`
}

type userLineJSON struct {
	Type    string `json:"type"`
	Message struct {
		Role    string `json:"role"`
		Content any    `json:"content"`
	} `json:"message"`
}

func userLine(msg UserMessage) ([]byte, error) {
	if len(msg.Images) == 0 {
		return textLine(msg.Text), nil
	}
	blocks := make([]contentBlock, 0, len(msg.Images)+1)
	for i, im := range msg.Images {
		if im.MediaType == "" || len(im.Data) == 0 {
			return nil, fmt.Errorf("proc: image %d has no media type or no data", i)
		}
		blocks = append(blocks, contentBlock{Type: "image",
			Source: &imageSource{Type: "base64", MediaType: im.MediaType, Data: im.Data}})
	}
	if msg.Text != "" {
		blocks = append(blocks, contentBlock{Type: "text", Text: msg.Text})
	}
	var l userLineJSON
	l.Type, l.Message.Role, l.Message.Content = "user", "user", blocks
	return marshalLine(l)
}

func marshalLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("proc: encode stdin line: %w", err)
	}
	return append(b, '\n'), nil
}

// writeLine writes one whole line to stdin. ctx unblocks a write to a
// process that stopped reading, through a write deadline; a dead process
// gives EPIPE at once.
func (p *Process) writeLine(ctx context.Context, line []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.stdinClosed.Load() {
		return ErrClosed
	}
	gen := p.armWrite()
	stop := context.AfterFunc(ctx, func() { p.expireWrite(gen) })
	n, err := p.stdin.Write(line)
	stop()
	p.disarmWrite()
	if err != nil && n > 0 {
		// Half a line is unrecoverable: whatever followed would be read
		// as garbage. Closing stdin ends the CLI's input cleanly instead.
		p.log.WithField("written", n).Error("partial line on agent stdin; closing stdin")
		p.closeStdin.Do(func() { p.stdinClosed.Store(true); _ = p.stdin.Close() })
	}
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, os.ErrClosed):
		return ErrClosed
	}
	return fmt.Errorf("proc: write to agent: %w", err)
}

func (p *Process) armWrite() uint64 {
	p.dmu.Lock()
	defer p.dmu.Unlock()
	p.wgen++
	if p.wexpired { // only a cancelled write leaves a deadline behind
		_ = p.stdin.SetWriteDeadline(time.Time{})
		p.wexpired = false
	}
	return p.wgen
}

// expireWrite runs when a writer's ctx ends; the generation check keeps a
// late call from cutting short a later write.
func (p *Process) expireWrite(gen uint64) {
	p.dmu.Lock()
	defer p.dmu.Unlock()
	if p.wgen == gen {
		_ = p.stdin.SetWriteDeadline(time.Unix(1, 0))
		p.wexpired = true
	}
}

func (p *Process) disarmWrite() {
	p.dmu.Lock()
	p.wgen++
	p.dmu.Unlock()
}

// writeJSON marshals v outside the write lock and writes it as one line.
func (p *Process) writeJSON(ctx context.Context, v any) error {
	line, err := marshalLine(v)
	if err != nil {
		return err
	}
	return p.writeLine(ctx, line)
}
