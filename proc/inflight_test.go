package proc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pipeProcess is a Process without a child: its stdin is a pipe the test
// reads, so control answers can be inspected directly.
func pipeProcess(t *testing.T, h ControlHandler) (*Process, *bufio.Reader) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	l, _ := newLog()
	p := &Process{cfg: Config{Control: h}, log: l, stdin: w, exited: make(chan struct{}), done: make(chan struct{})}
	p.ctl.init()
	p.base, p.baseCancel = context.WithCancel(context.Background())
	t.Cleanup(func() {
		p.baseCancel()
		p.ctl.wg.Wait()
		_ = w.Close()
		_ = r.Close()
	})
	return p, bufio.NewReader(r)
}

type answerLine struct {
	Type     string `json:"type"`
	Response struct {
		Subtype   string          `json:"subtype"`
		RequestID string          `json:"request_id"`
		Response  json.RawMessage `json:"response"`
		Error     string          `json:"error"`
	} `json:"response"`
}

func readAnswer(t *testing.T, r *bufio.Reader) answerLine {
	t.Helper()
	line, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var a answerLine
	if err := json.Unmarshal(line, &a); err != nil || a.Type != "control_response" {
		t.Fatalf("answer %s: %v", line, err)
	}
	return a
}

func canUseTool(id string) []byte {
	return []byte(`{"type":"control_request","request_id":"` + id + `","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"ls"},"tool_use_id":"tu"}}`)
}

func TestControlInflightBound(t *testing.T) {
	release := make(chan struct{})
	started := make(chan string, maxControlInflight)
	a := &approver{answer: func(ctx context.Context, req ControlRequest) (any, error) {
		started <- req.RequestID
		select {
		case <-release:
			return map[string]string{"behavior": "allow"}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}}
	p, r := pipeProcess(t, a)
	for i := 0; i < maxControlInflight; i++ {
		p.onControlRequest(canUseTool("r"+strconv.Itoa(i)), "r"+strconv.Itoa(i), "can_use_tool")
	}
	for i := 0; i < maxControlInflight; i++ {
		<-started
	}
	p.onControlRequest(canUseTool("over"), "over", "can_use_tool")
	if a := readAnswer(t, r); a.Response.RequestID != "over" || a.Response.Subtype != "error" ||
		!strings.Contains(a.Response.Error, "too many") {
		t.Fatalf("over the bound: %+v", a)
	}
	close(release)
	seen := map[string]bool{}
	for i := 0; i < maxControlInflight; i++ {
		a := readAnswer(t, r)
		if a.Response.Subtype != "success" || !strings.Contains(string(a.Response.Response), "allow") {
			t.Fatalf("answer %+v", a)
		}
		seen[a.Response.RequestID] = true
	}
	if len(seen) != maxControlInflight {
		t.Fatalf("answered %d distinct requests", len(seen))
	}
}

func TestControlCancelNoAnswer(t *testing.T) {
	entered := make(chan struct{})
	a := &approver{answer: func(ctx context.Context, req ControlRequest) (any, error) {
		if req.RequestID == "slow" {
			close(entered)
			<-ctx.Done()
			return map[string]string{"behavior": "allow"}, nil
		}
		return map[string]string{"behavior": "deny", "message": "fast"}, nil
	}}
	p, r := pipeProcess(t, a)
	p.onControlRequest(canUseTool("slow"), "slow", "can_use_tool")
	<-entered
	p.ctl.cancel("slow")
	// The withdrawn request gets no answer: the next line is the fast one's.
	p.onControlRequest(canUseTool("fast"), "fast", "can_use_tool")
	if a := readAnswer(t, r); a.Response.RequestID != "fast" {
		t.Fatalf("first answer after cancel: %+v", a)
	}
}

func TestControlMalformedAndPanics(t *testing.T) {
	a := &approver{answer: func(ctx context.Context, req ControlRequest) (any, error) { panic("boom") }}
	p, r := pipeProcess(t, a)
	// Passes the line scanner (which checks skipped containers for
	// structure only) but not encoding/json.
	p.onControlRequest([]byte(`{"type":"control_request","request_id":"m","request":{"a":01}}`), "m", "")
	if a := readAnswer(t, r); a.Response.RequestID != "m" || a.Response.Subtype != "error" ||
		!strings.Contains(a.Response.Error, "malformed") {
		t.Fatalf("malformed: %+v", a)
	}
	p.onControlRequest(canUseTool("p"), "p", "can_use_tool")
	if a := readAnswer(t, r); a.Response.RequestID != "p" || a.Response.Subtype != "error" {
		t.Fatalf("panicking handler: %+v", a)
	}
}

func TestUserLineImages(t *testing.T) {
	line, err := userLine(UserMessage{Text: "look", Images: []Image{{MediaType: "image/png", Data: []byte{1, 2, 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"user","message":{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AQID"}},{"type":"text","text":"look"}]}}` + "\n"
	if string(line) != want {
		t.Fatalf("user line %s", line)
	}
	if _, err := userLine(UserMessage{Images: []Image{{Data: []byte{1}}}}); err == nil {
		t.Fatal("image without media type accepted")
	}
	plain, _ := userLine(UserMessage{Text: "hi \"there\"\n"})
	if string(plain) != `{"type":"user","message":{"role":"user","content":"hi \"there\"\n"}}`+"\n" {
		t.Fatalf("plain line %s", plain)
	}
}

func TestStderrTailInExitError(t *testing.T) {
	script := filepath.Join(t.TempDir(), "agent.sh")
	body := "#!/bin/sh\nfor i in $(seq 1 30); do echo \"line $i\" >&2; done\necho 'fatal: no api key' >&2\nexit 2\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	l, sink := newLog()
	p, err := Start(guardCtx(t), Config{Kind: KindClaude, Path: script, Log: l, StopGrace: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Turn(guardCtx(t), UserMessage{Text: "hello"}, nil)
	var ee *ExitError
	if !errors.As(err, &ee) || !errors.Is(err, ErrExited) {
		t.Fatalf("turn: %v", err)
	}
	if n := len(ee.Stderr); n != stderrTailLines || ee.Stderr[n-1] != "fatal: no api key" || ee.Stderr[0] != "line 12" {
		t.Fatalf("stderr tail %q", ee.Stderr)
	}
	if !strings.Contains(err.Error(), "exit status 2") || !sink.contains("fatal: no api key") {
		t.Fatalf("error %v / log", err)
	}
	waitDone(t, p)
}

// A process that stops reading must not block a writer past its ctx.
func TestWriteUnblocksOnCtx(t *testing.T) {
	p, _ := pipeProcess(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	big := make([]byte, 1<<20) // far more than a pipe buffer
	big[len(big)-1] = '\n'
	if err := p.writeLine(ctx, big); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked write: %v", err)
	}
	// Half a line went out, so stdin is closed rather than corrupted.
	if err := p.writeLine(context.Background(), []byte("{}\n")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after partial line: %v", err)
	}
}
