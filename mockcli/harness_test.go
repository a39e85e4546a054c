package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// mockBin is the binary under test: $HOTLINE_MOCKCLI, or built in TestMain.
var mockBin string

// guard bounds every wait so a broken build hangs no CI job; it is not a
// performance assertion.
const guard = 60 * time.Second

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mockcli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mockBin, err = buildMock(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func moduleRoot() string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd) // tests run in <root>/mockcli
}

func buildMock(dir string) (string, error) {
	if p := os.Getenv("HOTLINE_MOCKCLI"); p != "" {
		return p, nil
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	out := filepath.Join(dir, "mockcli")
	cmd := exec.Command(goBin, "build", "-o", out, "./mockcli")
	cmd.Dir = moduleRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building mockcli: %v\n%s", err, b)
	}
	return out, nil
}

// event is one stdout line of the mock.
type event struct {
	raw []byte
	m   map[string]any
}

func (e event) str(path ...string) string {
	v, _ := e.get(path...).(string)
	return v
}

func (e event) get(path ...string) any {
	var cur any = e.m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

// sig is the shape compared against the recordings.
func (e event) sig() string {
	s := e.str("type")
	if st := e.str("subtype"); st != "" {
		s += "/" + st
	}
	if s == "stream_event" {
		s += "/" + e.str("event", "type")
	}
	if s == "control_request" || s == "control_response" {
		s += "/" + e.str("request", "subtype") + e.str("response", "subtype")
	}
	return s
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cli is a running mock process with line-level access to its pipes.
type cli struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan event
	stderr *syncBuf
	waited chan struct{}
	err    error
	home   string
	dir    string
}

// env holds the HOME and working directory a test's processes share.
type env struct{ home, dir string }

func newEnv(t *testing.T) env {
	return env{home: t.TempDir(), dir: t.TempDir()}
}

var baseArgs = []string{"-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose"}

func start(t *testing.T, e env, extra ...string) *cli {
	t.Helper()
	cmd := exec.Command(mockBin, append(append([]string{}, baseArgs...), extra...)...)
	cmd.Dir = e.dir
	cmd.Env = []string{"HOME=" + e.home, "PATH=" + os.Getenv("PATH")}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, cmd: cmd, stdin: stdin, events: make(chan event, 1024), stderr: &syncBuf{},
		waited: make(chan struct{}), home: e.home, dir: e.dir}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(c.events)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				ev := event{raw: line}
				if jerr := json.Unmarshal(line, &ev.m); jerr != nil {
					ev.m = map[string]any{"type": "NOT-JSON", "error": jerr.Error()}
				}
				c.events <- ev
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		<-readDone // Wait closes stdout; read everything first
		c.err = cmd.Wait()
		close(c.waited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range c.events {
		}
		<-c.waited
	})
	return c
}

func (c *cli) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		c.t.Fatalf("writing stdin: %v", err)
	}
}

func (c *cli) user(text string) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"type": "user", "message": map[string]any{"role": "user", "content": text}})
	c.send(string(b))
}

// next returns the next stdout line; it fails the test at EOF.
func (c *cli) next() event {
	c.t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			c.t.Fatalf("stdout closed early; stderr:\n%s", c.stderr.String())
		}
		return ev
	case <-time.After(guard):
		c.t.Fatalf("no stdout line within %v; stderr:\n%s", guard, c.stderr.String())
	}
	return event{}
}

// until reads lines up to and including the first with signature sig.
func (c *cli) until(sig string) []event {
	c.t.Helper()
	var evs []event
	for {
		ev := c.next()
		evs = append(evs, ev)
		if ev.sig() == sig {
			return evs
		}
	}
}

// result reads up to the next result line and returns it.
func (c *cli) result() event {
	c.t.Helper()
	for {
		if ev := c.next(); ev.str("type") == "result" {
			return ev
		}
	}
}

// exit closes nothing, drains stdout and returns the exit status; extra
// lines are returned too.
func (c *cli) exit() (int, []event) {
	c.t.Helper()
	var rest []event
	timeout := time.After(guard)
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				select {
				case <-c.waited:
				case <-timeout:
					c.t.Fatalf("process did not exit within %v", guard)
				}
				var ee *exec.ExitError
				if errors.As(c.err, &ee) {
					return ee.ExitCode(), rest
				}
				if c.err != nil {
					c.t.Fatalf("wait: %v", c.err)
				}
				return 0, rest
			}
			rest = append(rest, ev)
		case <-timeout:
			c.t.Fatalf("process did not exit within %v; stderr:\n%s", guard, c.stderr.String())
		}
	}
}

// closeAndExit closes stdin and returns the exit status.
func (c *cli) closeAndExit() (int, []event) {
	c.t.Helper()
	_ = c.stdin.Close()
	return c.exit()
}
