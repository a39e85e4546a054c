//go:build contract

package contract

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/contract/fakeanthropic"
	"github.com/hotline-dev/hotline/proc"
	"github.com/sirupsen/logrus"
)

// turnTimeout guards against a hang only; a warm turn takes well under a
// second and a cold start one or two.
const turnTimeout = 60 * time.Second

// rig is one test's world: a fake API, a private HOME and working dir, and
// the environment the CLI gets.
type rig struct {
	t    *testing.T
	cli  string
	fake *fakeanthropic.Server
	home string
	work string
	env  []string
	log  *logrus.Logger
}

// claudePath is the pinned CLI that contract/run.sh installed.
func claudePath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("HOTLINE_CONTRACT_CLI")
	if p == "" {
		t.Fatal("HOTLINE_CONTRACT_CLI is not set: run the contract test with `bash contract/run.sh` (make test-contract), which installs the pinned Claude Code CLI")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("HOTLINE_CONTRACT_CLI: %v", err)
	}
	return p
}

func newRig(t *testing.T, extraEnv ...string) *rig {
	t.Helper()
	log := logrus.New()
	log.SetOutput(testWriter{t})
	log.SetLevel(logrus.InfoLevel)
	fake, err := fakeanthropic.Start(fakeanthropic.Config{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if u := fake.Unknown(); len(u) > 0 {
			t.Logf("fake API got unknown requests: %v", u)
		}
		_ = fake.Close()
	})
	base := t.TempDir()
	r := &rig{t: t, cli: claudePath(t), fake: fake, home: filepath.Join(base, "home"), work: filepath.Join(base, "work"), log: log}
	for _, d := range []string{r.home, r.work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The whole environment, on purpose: nothing of the developer's own
	// login or settings (a real ANTHROPIC_API_KEY, CLAUDECODE) leaks in.
	r.env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + r.home,
		"LANG=C.UTF-8",
		"ANTHROPIC_BASE_URL=" + fake.URL(),
		"ANTHROPIC_API_KEY=test-key",
		"DISABLE_TELEMETRY=1",
		"DISABLE_AUTOUPDATER=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"CLAUDE_CODE_MAX_RETRIES=0",
	}, extraEnv...)
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// config is the proc.Config the bridge would use for this rig.
func (r *rig) config(sessionID string, resume bool) proc.Config {
	return proc.Config{
		Kind: proc.KindClaude, Path: r.cli, Dir: r.work, Home: r.home,
		SessionID: sessionID, Resume: resume, Env: r.env,
		Log: r.log.WithField("agent", "claude"), StopGrace: 10 * time.Second,
	}
}

func (r *rig) start(cfg proc.Config) *proc.Process {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), turnTimeout)
	defer cancel()
	p, err := proc.Start(ctx, cfg)
	if err != nil {
		r.t.Fatalf("proc.Start: %v", err)
	}
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = p.Stop(ctx)
	})
	return p
}

// turnLog is what one turn's handler saw.
type turnLog struct {
	types   []proc.EventType
	deltas  strings.Builder
	initSID string
	tools   []proc.Event // tool_use and tool_result events, copied
}

func (l *turnLog) handle(ev *proc.Event) {
	l.types = append(l.types, ev.Type)
	switch ev.Type {
	case proc.EventInit:
		l.initSID = ev.SessionID
	case proc.EventTextDelta:
		l.deltas.WriteString(ev.Text)
	case proc.EventToolUse, proc.EventToolResult:
		c := *ev
		c.Input = append([]byte(nil), ev.Input...)
		c.Raw = nil
		l.tools = append(l.tools, c)
	}
}

func (l *turnLog) has(t proc.EventType) bool {
	for _, x := range l.types {
		if x == t {
			return true
		}
	}
	return false
}

func turn(t *testing.T, p *proc.Process, text string) (*proc.Result, *turnLog) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), turnTimeout)
	defer cancel()
	var l turnLog
	res, err := p.Turn(ctx, proc.UserMessage{Text: text}, l.handle)
	if err != nil {
		t.Fatalf("turn %q: %v", text, err)
	}
	return res, &l
}

func stop(t *testing.T, p *proc.Process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := syscall.Kill(p.PID(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("pid %d still exists after Stop (kill 0: %v)", p.PID(), err)
	}
}

// requestFor finds the API request whose last user text is text.
func (r *rig) requestFor(text string) *fakeanthropic.MessagesRequest {
	r.t.Helper()
	for _, rec := range r.fake.Requests() {
		u := rec.Request.UserTexts()
		if len(u) > 0 && u[len(u)-1] == text {
			return rec.Request
		}
	}
	r.t.Fatalf("the fake API never got a request ending in %q", text)
	return nil
}

// mockPath returns mockcli, from HOTLINE_MOCKCLI or built into a temp dir.
func mockPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HOTLINE_MOCKCLI"); p != "" {
		return p
	}
	out := filepath.Join(t.TempDir(), "mockcli")
	cmd := exec.Command("go", "build", "-o", out, "github.com/hotline-dev/hotline/mockcli")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build mockcli: %v\n%s", err, b)
	}
	return out
}
