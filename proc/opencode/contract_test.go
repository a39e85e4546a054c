//go:build contract

package opencode

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/contract/fakeanthropic"
	"github.com/hotline-dev/hotline/proc"
)

// ocGuard bounds each step against hangs only; nothing asserts on speed.
const ocGuard = 3 * time.Minute

type rig struct {
	t    *testing.T
	bin  string
	fake *fakeanthropic.Server
	home string
	work string
	log  *logrus.Logger
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, bin: openCodeBinary(t), home: t.TempDir(), work: t.TempDir()}
	r.log = logrus.New()
	r.log.SetOutput(testWriter{t})
	r.log.SetLevel(logrus.InfoLevel)
	fake, err := fakeanthropic.Start(fakeanthropic.Config{Log: r.log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	r.fake = fake
	conf := map[string]any{
		"$schema":     "https://opencode.ai/config.json",
		"model":       "anthropic/" + fakeanthropic.Model,
		"small_model": "anthropic/" + fakeanthropic.Model,
		"autoupdate":  false,
		"share":       "disabled",
		// The operator allows everything: the driver's session ruleset must
		// still route bash through the bridge.
		"permission": map[string]string{"bash": "allow", "edit": "allow"},
		"provider": map[string]any{"anthropic": map[string]any{
			"options": map[string]string{"baseURL": fake.URL() + "/v1", "apiKey": "fake-key"},
			"models":  map[string]any{fakeanthropic.Model: map[string]string{"name": "Fake"}},
		}},
	}
	b, _ := json.Marshal(conf)
	if err := os.WriteFile(filepath.Join(r.home, "opencode.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (r *rig) supervisor() *Supervisor {
	r.t.Helper()
	s, err := NewSupervisor(Config{
		Path: r.bin, Dir: r.work, Home: r.home, ConfigFile: filepath.Join(r.home, "opencode.json"),
		Env: contractEnv(), Log: r.log,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func contractEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8",
		"OPENCODE_DISABLE_MODELS_FETCH=1", "OPENCODE_DISABLE_LSP_DOWNLOAD=1",
		"SLACK_BOT_TOKEN=xoxb-must-not-leak", "HOTLINE_SECRET=nope", "REDIS_URL=redis://x",
	}
}

// ctl answers control requests like core: the hook (firewall) first, then
// can_use_tool (a human).
type ctl struct {
	mu   sync.Mutex
	reqs []proc.ControlRequest
	hook func(proc.ControlRequest) any
	ask  func(proc.ControlRequest) any
}

func (c *ctl) HandleControl(_ context.Context, req proc.ControlRequest) (any, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, req)
	c.mu.Unlock()
	switch req.Subtype {
	case "hook_callback":
		if c.hook != nil {
			return c.hook(req), nil
		}
		return struct{}{}, nil
	case "can_use_tool":
		if c.ask != nil {
			return c.ask(req), nil
		}
		return map[string]string{"behavior": "deny", "message": "no"}, nil
	}
	return nil, errors.New("unexpected " + req.Subtype)
}

func (c *ctl) requests() []proc.ControlRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]proc.ControlRequest(nil), c.reqs...)
}

type events struct {
	deltas strings.Builder
	types  []proc.EventType
	tools  []proc.Event
	first  chan struct{}
	once   sync.Once
}

func newEvents() *events { return &events{first: make(chan struct{})} }

func (e *events) handle(ev *proc.Event) {
	e.types = append(e.types, ev.Type)
	switch ev.Type {
	case proc.EventTextDelta:
		e.deltas.WriteString(ev.Text)
		e.once.Do(func() { close(e.first) })
	case proc.EventToolUse:
		c := *ev
		c.Input = append(json.RawMessage(nil), ev.Input...)
		e.tools = append(e.tools, c)
	}
}

func spawn(t *testing.T, s *Supervisor, key, id string, resume bool, c proc.ControlHandler) *Agent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ocGuard)
	defer cancel()
	a, err := s.Spawn(ctx, key, id, resume, c)
	if err != nil {
		t.Fatalf("spawn %s: %v", key, err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return a
}

func runTurn(t *testing.T, a *Agent, text string) (*proc.Result, *events) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ocGuard)
	defer cancel()
	ev := newEvents()
	res, err := a.Turn(ctx, proc.UserMessage{Text: text}, ev.handle)
	if err != nil {
		t.Fatalf("turn %q: %v", text, err)
	}
	return res, ev
}

func lastRequestFor(t *testing.T, f *fakeanthropic.Server, text string) *fakeanthropic.MessagesRequest {
	t.Helper()
	reqs := f.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Request.CurrentText() == text {
			return reqs[i].Request
		}
	}
	t.Fatalf("the fake API saw no request for %q", text)
	return nil
}

func TestContractOpenCode(t *testing.T) {
	r := newRig(t)
	sup := r.supervisor()
	c := &ctl{}
	a := spawn(t, sup, "slack:T1:C1:1.1", "", false, c)
	if !strings.HasPrefix(a.SessionID(), "ses") {
		t.Fatalf("session id %q is not OpenCode's", a.SessionID())
	}
	checkEnv(t, a.PID())

	t.Run("two warm turns", func(t *testing.T) {
		res, ev := runTurn(t, a, "hello one")
		if res.Text != "ECHO: hello one" || res.IsError || ev.deltas.String() != res.Text {
			t.Fatalf("turn 1: result %+v, deltas %q", res, ev.deltas.String())
		}
		pid := a.PID()
		res, _ = runTurn(t, a, "hello two")
		if res.Text != "ECHO: hello two" || a.PID() != pid || res.SessionID != a.SessionID() {
			t.Fatalf("turn 2: %+v (pid %d, was %d)", res, a.PID(), pid)
		}
		hist := strings.Join(lastRequestFor(t, r.fake, "hello two").UserTexts(), "|")
		if !strings.Contains(hist, "hello one") {
			t.Fatalf("turn 2 was sent without turn 1's history: %q", hist)
		}
	})

	t.Run("a third thread has its own session", func(t *testing.T) {
		b := spawn(t, sup, "slack:T1:C1:2.2", "", false, &ctl{})
		if b.SessionID() == a.SessionID() || b.PID() != a.PID() {
			t.Fatalf("thread B: session %s pid %d; thread A: session %s pid %d", b.SessionID(), b.PID(), a.SessionID(), a.PID())
		}
		res, _ := runTurn(t, b, "thread b says hi")
		hist := strings.Join(lastRequestFor(t, r.fake, "thread b says hi").UserTexts(), "|")
		if res.Text != "ECHO: thread b says hi" || strings.Contains(hist, "hello one") {
			t.Fatalf("thread B: %+v, history %q", res, hist)
		}
	})

	t.Run("permission approved by a human", func(t *testing.T) {
		c.ask = func(proc.ControlRequest) any {
			return map[string]any{"behavior": "allow", "updatedInput": map[string]any{}}
		}
		res, ev := runTurn(t, a, "TOOL_BASH: echo approved-run")
		if !strings.Contains(res.Text, "approved-run") || strings.Contains(res.Text, "is_error") {
			t.Fatalf("approved tool: %+v", res)
		}
		reqs := c.requests()
		if len(reqs) != 2 || reqs[0].Subtype != "hook_callback" || reqs[1].Subtype != "can_use_tool" ||
			reqs[1].ToolName != "Bash" || !strings.Contains(string(reqs[1].Input), "echo approved-run") {
			t.Fatalf("control requests: %+v", reqs)
		}
		if len(ev.tools) != 1 || ev.tools[0].ToolName != "Bash" || !strings.Contains(string(ev.tools[0].Input), `"command":"echo approved-run"`) {
			t.Fatalf("tool events: %+v", ev.tools)
		}
	})

	t.Run("firewall denial", func(t *testing.T) {
		c.hook = func(proc.ControlRequest) any {
			return map[string]any{"hookSpecificOutput": map[string]string{
				"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": "hotline firewall: rule T1: test"}}
		}
		res, _ := runTurn(t, a, "TOOL_BASH: rm -rf /tmp/nothing-here")
		if !strings.Contains(res.Text, "is_error") || !strings.Contains(res.Text, "rule T1") {
			t.Fatalf("denied tool: %+v", res)
		}
		if len(res.Denials) != 1 || res.Denials[0].ToolName != "Bash" {
			t.Fatalf("denials: %+v", res.Denials)
		}
		c.hook = nil
	})

	t.Run("interrupt", func(t *testing.T) {
		ev := newEvents()
		type out struct {
			res *proc.Result
			err error
		}
		done := make(chan out, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), ocGuard)
			defer cancel()
			res, err := a.Turn(ctx, proc.UserMessage{Text: "SLOW:300 " + strings.Repeat("abcd", 40)}, ev.handle)
			done <- out{res, err}
		}()
		select {
		case <-ev.first:
		case <-time.After(ocGuard):
			t.Fatal("no text delta from the slow turn")
		}
		ctx, cancel := context.WithTimeout(context.Background(), ocGuard)
		defer cancel()
		if err := a.Interrupt(ctx); err != nil {
			t.Fatal(err)
		}
		o := <-done
		if o.err != nil || o.res.Subtype != "error_during_execution" || !o.res.IsError || len(o.res.Errors) == 0 {
			t.Fatalf("interrupted turn: %+v, %v", o.res, o.err)
		}
		res, _ := runTurn(t, a, "after the interrupt")
		if res.Text != "ECHO: after the interrupt" {
			t.Fatalf("turn after interrupt: %+v", res)
		}
	})

	t.Run("resume after a restart", func(t *testing.T) {
		id := a.SessionID()
		stopCtx, cancel := context.WithTimeout(context.Background(), ocGuard)
		defer cancel()
		if err := a.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Turn(stopCtx, proc.UserMessage{Text: "x"}, func(*proc.Event) {}); !errors.Is(err, proc.ErrClosed) {
			t.Fatalf("turn after Stop: %v", err)
		}
		oldPID := a.PID()
		if err := sup.Close(stopCtx); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(oldPID)); err == nil {
			t.Fatalf("server %d still runs after Close", oldPID)
		}
		sup2 := r.supervisor()
		b := spawn(t, sup2, "slack:T1:C1:1.1", id, true, &ctl{})
		res, _ := runTurn(t, b, "do you remember")
		hist := strings.Join(lastRequestFor(t, r.fake, "do you remember").UserTexts(), "|")
		if res.Text != "ECHO: do you remember" || b.SessionID() != id || !strings.Contains(hist, "hello one") {
			t.Fatalf("resumed: %+v, session %s (want %s), history %q", res, b.SessionID(), id, hist)
		}
		lost := spawn(t, sup2, "slack:T1:C1:3.3", "ses_00000000000000000000000000", true, &ctl{})
		res, _ = runTurn(t, lost, "anyone")
		if !res.IsError || res.Subtype != "error_during_execution" || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "No conversation found") {
			t.Fatalf("unknown resume id: %+v", res)
		}
	})
}

// checkEnv reads the server's environment: the allow-list only.
func checkEnv(t *testing.T, pid int) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	env := string(b)
	for _, bad := range []string{"SLACK_BOT_TOKEN", "HOTLINE_SECRET", "REDIS_URL"} {
		if strings.Contains(env, bad) {
			t.Fatalf("%s reached the agent", bad)
		}
	}
	if !strings.Contains(env, "OPENCODE_SERVER_PASSWORD=") || !strings.Contains(env, "OPENCODE_DISABLE_MODELS_FETCH=1") {
		t.Fatal("the server lacks its own OPENCODE_* settings")
	}
}
