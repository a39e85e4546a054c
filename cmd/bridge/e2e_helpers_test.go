package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/internal/testbin"
	"github.com/hotline-dev/hotline/internal/testenv"
)

var bridgeBin struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// bridgePath builds this command once per test binary.
func bridgePath(t *testing.T) string {
	t.Helper()
	bridgeBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "hotline-bridge-")
		if err != nil {
			bridgeBin.err = err
			return
		}
		bridgeBin.path = filepath.Join(dir, "bridge")
		cmd := exec.Command("go", "build", "-race", "-o", bridgeBin.path, "github.com/hotline-dev/hotline/cmd/bridge")
		bridgeBin.out, bridgeBin.err = cmd.CombinedOutput()
	})
	if bridgeBin.err != nil {
		t.Fatalf("building the bridge: %v\n%s", bridgeBin.err, bridgeBin.out)
	}
	return bridgeBin.path
}

// running is one bridge process driven through its terminal adapter.
type running struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	seen   []string // every output line expect has read
	mu     sync.Mutex
	stderr strings.Builder
	addr   string
	exited chan struct{}
}

// dirs are the places that make a bridge "the same" across restarts.
type dirs struct{ data, home, work string }

func newDirs(t *testing.T) dirs { return dirs{t.TempDir(), t.TempDir(), t.TempDir()} }

func startBridge(t *testing.T, d dirs, extra ...string) *running {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bridgePath(t))
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + d.home,
		"HOTLINE_AGENT=mock", "HOTLINE_AGENT_PATH=" + testbin.MockCLI(t),
		"HOTLINE_DATA_DIR=" + d.data, "HOTLINE_AGENT_HOME=" + d.home, "HOTLINE_WORKDIR=" + d.work,
		"HOTLINE_HTTP_ADDR=" + addr, "HOTLINE_LOG_FORMAT=json", "HOTLINE_LOG_LEVEL=debug",
	}, extra...)
	r := &running{t: t, cmd: cmd, lines: make(chan string, 1024), addr: addr, exited: make(chan struct{})}
	var err error
	if r.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.stderr.Write(p)
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
	}()
	go func() { cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			cmd.Process.Kill()
			<-r.exited
		}
	})
	r.waitHTTP()
	return r
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (r *running) waitHTTP() {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + r.addr + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-r.exited:
			r.t.Fatalf("bridge exited at start-up:\n%s", r.logs())
		case <-time.After(20 * time.Millisecond):
		}
	}
	r.t.Fatalf("bridge did not serve /healthz:\n%s", r.logs())
}

func (r *running) logs() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

func (r *running) say(line string) {
	r.t.Helper()
	if _, err := io.WriteString(r.stdin, line+"\n"); err != nil {
		r.t.Fatalf("writing %q: %v", line, err)
	}
}

// output is every line the bridge wrote, once it has exited.
func (r *running) output() []string {
	r.t.Helper()
	<-r.exited
	out := r.seen
	for l := range r.lines {
		out = append(out, l)
	}
	return out
}

// expect waits for an output line containing want.
func (r *running) expect(want string) string {
	r.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				r.t.Fatalf("bridge output ended before %q; logs:\n%s", want, r.logs())
			}
			r.seen = append(r.seen, l)
			if strings.Contains(l, want) {
				return l
			}
		case <-timeout:
			r.t.Fatalf("no %q within 60s; logs:\n%s", want, r.logs())
		}
	}
}

func (r *running) signal(sig syscall.Signal) { r.cmd.Process.Signal(sig) }

func (r *running) wait() int {
	r.t.Helper()
	select {
	case <-r.exited:
	case <-time.After(60 * time.Second):
		r.t.Fatal("bridge did not exit within 60s")
	}
	return r.cmd.ProcessState.ExitCode()
}

// agentsUsing lists this test's live agents.
func agentsUsing(home string) []int { return testenv.Agents(home) }

func waitNoAgents(t *testing.T, home string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if len(agentsUsing(home)) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("agent processes left: %v", agentsUsing(home))
}

// waitTranscript waits until an agent transcript under home (mockcli keeps
// them where the real CLI does, $HOME/.claude/projects/*/<session>.jsonl)
// records prompt as a user turn.
func waitTranscript(t *testing.T, home, prompt string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if transcriptHas(home, prompt) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no transcript under %s records the prompt %q", home, prompt)
}

func transcriptHas(home, prompt string) bool {
	files, _ := filepath.Glob(filepath.Join(home, ".claude", "projects", "*", "*.jsonl"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			var e struct {
				Type     string `json:"type"`
				PromptID string `json:"promptId"`
				Message  struct {
					Content json.RawMessage `json:"content"`
				} `json:"message"`
			}
			if json.Unmarshal([]byte(line), &e) != nil || e.Type != "user" || e.PromptID == "" {
				continue // not a prompt, or a line still being written
			}
			var text string
			if json.Unmarshal(e.Message.Content, &text) == nil && text == prompt {
				return true
			}
			var blocks []struct{ Type, Text string }
			if json.Unmarshal(e.Message.Content, &blocks) == nil {
				for _, b := range blocks {
					if b.Type == "text" && b.Text == prompt {
						return true
					}
				}
			}
		}
	}
	return false
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
