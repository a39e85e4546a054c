//go:build contract

package contract

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rawCLI drives a stream-json CLI with plain os/exec and keeps every
// stdout line, for the golden comparison (proc hides some lines, such as
// control requests, that the comparison needs).
type rawCLI struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan []byte   // closed when stdout ends
	exit  chan struct{} // closed once the process is reaped
	err   error         // Wait's result, set before exit closes
	drain sync.Once

	mu  sync.Mutex
	all [][]byte

	stderr bytes.Buffer
}

// startRaw starts bin with args and env (the whole environment).
func startRaw(t *testing.T, bin string, args, env []string, dir string) *rawCLI {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r := &rawCLI{t: t, cmd: cmd, lines: make(chan []byte, 4096), exit: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: &r.stderr, mu: &r.mu}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	r.stdin = in
	go func() {
		r.read(out)
		r.err = cmd.Wait()
		close(r.exit)
	}()
	t.Cleanup(r.kill)
	return r
}

// lockedWriter keeps the last maxStderr bytes of the CLI's stderr for
// failure messages.
type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

const maxStderr = 64 << 10

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(p)
	if over := l.w.Len() - maxStderr; over > 0 {
		l.w.Next(over)
	}
	return len(p), nil
}

func (r *rawCLI) read(out io.Reader) {
	defer close(r.lines)
	br := bufio.NewReaderSize(out, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			line = bytes.TrimRight(line, "\r\n")
			r.mu.Lock()
			r.all = append(r.all, line)
			r.mu.Unlock()
			r.lines <- line
		}
		if err != nil {
			return
		}
	}
}

// send writes one JSON value as a line.
func (r *rawCLI) send(v any) {
	r.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.stdin.Write(append(b, '\n')); err != nil {
		r.t.Fatalf("write stdin: %v (stderr: %s)", err, r.stderrText())
	}
}

// sendRaw writes s as is, for the malformed-input scenario.
func (r *rawCLI) sendRaw(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.stdin, s); err != nil {
		r.t.Fatalf("write stdin: %v", err)
	}
}

func (r *rawCLI) sendUser(text string) {
	r.send(map[string]any{"type": "user", "message": map[string]any{"role": "user", "content": text}})
}

// until reads lines until stop returns true for one, answering control
// requests with answer (nil: reply {}), and fails after timeout.
func (r *rawCLI) until(timeout time.Duration, answer func(req map[string]any) any, stop func(m map[string]any) bool) {
	r.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				r.t.Fatalf("stdout closed early; stderr: %s", r.stderrText())
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				r.t.Fatalf("stdout line not JSON: %q", line)
			}
			if m["type"] == "control_request" {
				r.answer(m, answer)
				continue
			}
			if stop(m) {
				return
			}
		case <-deadline.C:
			r.t.Fatalf("timed out after %v; stderr: %s", timeout, r.stderrText())
		}
	}
}

func (r *rawCLI) answer(m map[string]any, answer func(req map[string]any) any) {
	req, _ := m["request"].(map[string]any)
	var body any = map[string]any{}
	if answer != nil {
		body = answer(req)
	}
	r.send(map[string]any{"type": "control_response", "response": map[string]any{
		"subtype": "success", "request_id": m["request_id"], "response": body,
	}})
}

// untilResult reads through the next result line.
func (r *rawCLI) untilResult(timeout time.Duration, answer func(map[string]any) any) {
	r.t.Helper()
	r.until(timeout, answer, func(m map[string]any) bool { return m["type"] == "result" })
}

// closeAndWait closes stdin and waits for the exit.
func (r *rawCLI) closeAndWait(timeout time.Duration) error {
	_ = r.stdin.Close()
	return r.wait(timeout)
}

// wait waits for the process to exit by itself, killing it after timeout.
func (r *rawCLI) wait(timeout time.Duration) error {
	r.startDrain()
	select {
	case <-r.exit:
		return r.err
	case <-time.After(timeout):
		r.kill()
		return errors.New("did not exit in time")
	}
}

// startDrain keeps reading lines nobody waits for, so the reader (which
// still records them) can reach EOF.
func (r *rawCLI) startDrain() {
	r.drain.Do(func() {
		go func() {
			for range r.lines {
			}
		}()
	})
}

// kill ends the whole process group and waits for the reap.
func (r *rawCLI) kill() {
	select {
	case <-r.exit:
		return
	default:
	}
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	r.startDrain()
	<-r.exit
}

func (r *rawCLI) lineCopy() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.all...)
}

func (r *rawCLI) stderrText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stderr.String()
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}
