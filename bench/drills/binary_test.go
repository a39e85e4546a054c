package drills

import (
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

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
	"github.com/hotline-dev/hotline/internal/testbin"
)

// BridgeEnv names a prebuilt cmd/bridge binary; without it the drill
// looks next to $HOTLINE_MOCKCLI (make build puts both in bin/), and
// otherwise builds one.
const BridgeEnv = "HOTLINE_BRIDGE"

var bridgeBin struct {
	once      sync.Once
	path, dir string
	out       []byte
	err       error
}

func bridgePath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(BridgeEnv); p != "" {
		return p
	}
	if m := os.Getenv(testbin.MockCLIEnv); m != "" {
		if p := filepath.Join(filepath.Dir(m), "bridge"); fileExists(p) {
			return p
		}
	}
	bridgeBin.once.Do(func() {
		if bridgeBin.dir, bridgeBin.err = os.MkdirTemp("", "hotline-drill-bridge-"); bridgeBin.err != nil {
			return
		}
		bridgeBin.path = filepath.Join(bridgeBin.dir, "bridge")
		cmd := exec.Command("go", "build", "-o", bridgeBin.path, "github.com/hotline-dev/hotline/cmd/bridge")
		bridgeBin.out, bridgeBin.err = cmd.CombinedOutput()
	})
	if bridgeBin.err != nil {
		t.Fatalf("building the bridge: %v\n%s", bridgeBin.err, bridgeBin.out)
	}
	return bridgeBin.path
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// proc is one run of the bridge binary.
type bridgeProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	logs   strings.Builder
}

func (p *bridgeProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.Write(b)
}

func (p *bridgeProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// runBridge starts the binary on dirs (data, home, work) against fake and
// waits until its Socket Mode connection is up.
func runBridge(t *testing.T, fake *fakeslack.Server, data, home, work string) *bridgeProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &bridgeProc{exited: make(chan struct{})}
	p.cmd = exec.Command(bridgePath(t))
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"HOTLINE_AGENT=mock", "HOTLINE_AGENT_PATH=" + testbin.MockCLI(t),
		"HOTLINE_DATA_DIR=" + data, "HOTLINE_AGENT_HOME=" + home, "HOTLINE_WORKDIR=" + work,
		"HOTLINE_HTTP_ADDR=" + addr, "HOTLINE_LOG_LEVEL=debug",
		"SLACK_API_URL=" + fake.APIURL(), "SLACK_BOT_TOKEN=xoxb-drill", "SLACK_APP_TOKEN=xapp-drill",
		"SLACK_EDIT_INTERVAL=50ms"}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	conns := fake.Connects()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill() })
	if !fake.WaitConnected(conns+1, wait) {
		t.Fatalf("bridge did not connect to Socket Mode; logs:\n%s", p.log())
	}
	if !fake.WaitUntil(func() bool { return ready(addr) }, wait) {
		t.Fatalf("bridge not ready; logs:\n%s", p.log())
	}
	return p
}

func ready(addr string) bool {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// kill sends SIGKILL (no chance to clean up) and waits for the exit.
func (p *bridgeProc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop asks for a graceful shutdown and waits for it.
func (p *bridgeProc) stop(t *testing.T) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(wait):
		t.Errorf("bridge did not exit after SIGTERM")
		p.kill()
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("bridge exit status %d after SIGTERM; logs:\n%s", code, p.log())
	}
}
