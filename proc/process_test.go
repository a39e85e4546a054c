package proc

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/internal/testbin"
)

const testSession = "5e55a000-0000-4000-8000-000000000001"

func TestTwoTurnsOnePID(t *testing.T) {
	cfg := mockConfig(t)
	cfg.SessionID = testSession
	p := startMock(t, cfg)
	ctx := guardCtx(t)
	if p.SessionID() != testSession {
		t.Fatalf("SessionID %q", p.SessionID())
	}
	pid := p.PID()
	for i, text := range []string{"hello", "second turn"} {
		var c collect
		res, err := p.Turn(ctx, UserMessage{Text: text}, c.h)
		if err != nil {
			t.Fatalf("turn %d: %v", i, err)
		}
		if want := "ECHO: " + text; res.Text != want || res.Subtype != "success" || res.IsError {
			t.Fatalf("turn %d result %+v", i, res)
		}
		if c.deltas.String() != res.Text {
			t.Errorf("deltas %q != result %q", c.deltas.String(), res.Text)
		}
		if len(c.of(EventInit)) == 0 || len(c.of(EventText)) == 0 {
			t.Errorf("turn %d: missing init or text events", i)
		}
		last := c.events[len(c.events)-1]
		if last.Type != EventResult || last.Result == nil || last.Result.Text != res.Text {
			t.Errorf("last event %+v", last)
		}
		if res.SessionID != testSession {
			t.Errorf("result session %q", res.SessionID)
		}
		if p.PID() != pid {
			t.Fatal("PID changed")
		}
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err != nil {
			t.Fatalf("process gone between turns: %v", err)
		}
	}
}

func TestHugeLine(t *testing.T) {
	p := startMock(t, mockConfig(t))
	const n = 5 << 20
	var c collect
	res, err := p.Turn(guardCtx(t), UserMessage{Text: "HUGE:" + strconv.Itoa(n)}, c.h)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Text) != n {
		t.Fatalf("result text %d bytes, want %d", len(res.Text), n)
	}
	texts := c.of(EventText)
	if len(texts) != 1 || texts[0].Text != res.Text {
		t.Fatalf("%d text events; first differs from result", len(texts))
	}
	if c.deltas.String() != res.Text {
		t.Fatal("deltas differ from result")
	}
}

func TestOverLongLine(t *testing.T) {
	old := lineLimit
	lineLimit = 256 << 10
	t.Cleanup(func() { lineLimit = old })
	p := startMock(t, mockConfig(t)) // reads lineLimit now
	ctx := guardCtx(t)
	_, err := p.Turn(ctx, UserMessage{Text: "HUGE:300000"}, nil)
	if !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("huge turn: %v", err)
	}
	// The result line was over-long too, and still ended the turn.
	res, err := p.Turn(ctx, UserMessage{Text: "small"}, nil)
	if err != nil || res.Text != "ECHO: small" {
		t.Fatalf("next turn: %+v %v", res, err)
	}
}

func TestCrashEndsTurn(t *testing.T) {
	p := startMock(t, mockConfig(t))
	_, err := p.Turn(guardCtx(t), UserMessage{Text: "CRASH"}, nil)
	if !errors.Is(err, ErrExited) || errors.Is(err, ErrClosed) {
		t.Fatalf("crash: %v", err)
	}
	var ee *ExitError
	if !errors.As(err, &ee) || !strings.Contains(ee.Error(), "exit status 3") {
		t.Fatalf("exit error %v", err)
	}
	waitDone(t, p)
	if p.Err() == nil {
		t.Fatal("Err() nil after crash")
	}
	if _, err := p.Turn(guardCtx(t), UserMessage{Text: "again"}, nil); !errors.Is(err, ErrExited) {
		t.Fatalf("turn after crash: %v", err)
	}
	if err := p.Interrupt(guardCtx(t)); err == nil {
		t.Fatal("interrupt of a dead process succeeded")
	}
	processGone(t, p.PID())
}

func TestHangDeadlineThenStop(t *testing.T) {
	for _, prompt := range []string{"HANG", "HANGHARD"} {
		t.Run(prompt, func(t *testing.T) {
			p := startMock(t, mockConfig(t))
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			_, err := p.Turn(ctx, UserMessage{Text: prompt}, nil)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("turn: %v", err)
			}
			select {
			case <-p.Done():
				t.Fatal("process ended on a turn deadline")
			default:
			}
			if err := p.Stop(guardCtx(t)); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			waitDone(t, p)
			if prompt == "HANGHARD" && !killedBy(p.Err(), syscall.SIGKILL) {
				t.Errorf("HANGHARD should need SIGKILL, exit: %v", p.Err())
			}
			if prompt == "HANG" && killedBy(p.Err(), syscall.SIGKILL) {
				t.Errorf("HANG should end on SIGTERM, exit: %v", p.Err())
			}
			processGone(t, p.PID())
			if err := p.Stop(guardCtx(t)); err != nil {
				t.Errorf("second Stop: %v", err)
			}
		})
	}
}

func killedBy(err error, sig syscall.Signal) bool {
	var xe *exec.ExitError
	if !errors.As(err, &xe) {
		return false
	}
	ws, ok := xe.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

func TestStopDuringTurn(t *testing.T) {
	p := startMock(t, mockConfig(t))
	errc := make(chan error, 1)
	started := make(chan struct{}, 1)
	go func() {
		_, err := p.Turn(context.Background(), UserMessage{Text: "HANG"}, func(ev *Event) {
			select {
			case started <- struct{}{}:
			default:
			}
		})
		errc <- err
	}()
	<-started
	if _, err := p.Turn(guardCtx(t), UserMessage{Text: "x"}, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("concurrent turn: %v", err)
	}
	if err := p.Stop(guardCtx(t)); err != nil {
		t.Fatal(err)
	}
	err := <-errc
	if !errors.Is(err, ErrClosed) || !errors.Is(err, ErrExited) {
		t.Fatalf("turn during Stop: %v", err)
	}
	if _, err := p.Turn(guardCtx(t), UserMessage{Text: "x"}, nil); !errors.Is(err, ErrExited) {
		t.Fatalf("turn after Stop: %v", err)
	}
	processGone(t, p.PID())
}

func TestInterruptSlowTurn(t *testing.T) {
	p := startMock(t, mockConfig(t))
	ctx := guardCtx(t)
	streaming := make(chan struct{}, 1)
	type out struct {
		res *Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := p.Turn(ctx, UserMessage{Text: "SLOW:300 please stream slowly"}, func(ev *Event) {
			if ev.Type == EventTextDelta {
				select {
				case streaming <- struct{}{}:
				default:
				}
			}
		})
		done <- out{res, err}
	}()
	<-streaming
	if err := p.Interrupt(ctx); err != nil {
		t.Fatalf("Interrupt: %v", err)
	}
	o := <-done
	if o.err != nil || o.res.Subtype != "error_during_execution" {
		t.Fatalf("interrupted turn: %+v %v", o.res, o.err)
	}
	res, err := p.Turn(ctx, UserMessage{Text: "after interrupt"}, nil)
	if err != nil || res.Text != "ECHO: after interrupt" {
		t.Fatalf("turn after interrupt: %+v %v", res, err)
	}
}

// An abandoned turn's late events and result must not leak into the next.
func TestAbandonedTurnDoesNotLeak(t *testing.T) {
	p := startMock(t, mockConfig(t))
	ctx, cancel := context.WithCancel(guardCtx(t))
	_, err := p.Turn(ctx, UserMessage{Text: "SLOW:100 slow one"}, func(ev *Event) {
		if ev.Type == EventTextDelta {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned turn: %v", err)
	}
	var c collect
	res, err := p.Turn(guardCtx(t), UserMessage{Text: "next"}, c.h)
	if err != nil || res.Text != "ECHO: next" || c.deltas.String() != "ECHO: next" {
		t.Fatalf("next turn: %+v %v deltas %q", res, err, c.deltas.String())
	}
}

func TestChildEnvironment(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "agent.sh")
	body := "#!/bin/sh\nenv > '" + dir + "/env'\npwd > '" + dir + "/pwd'\nprintf '%s\\n' \"$@\" > '" + dir + "/args'\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	work, home := t.TempDir(), t.TempDir()
	cfg := Config{Kind: KindClaude, Path: script, Dir: work, Home: home, SessionID: testSession, StopGrace: time.Second,
		Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=/nothere", "SLACK_BOT_TOKEN=xoxb-secret", "SLACK_SIGNING_SECRET=s",
			"DISCORD_TOKEN=d", "REDIS_URL=redis://h", "HOTLINE_DATA_DIR=/d", "CLAUDECODE=1", "ANTHROPIC_API_KEY=k",
			"CLAUDE_CODE_MAX_RETRIES=1", "LC_ALL=C", "EXTRA_OK=1", "OTHER=1"},
		PassEnv: []string{"EXTRA_OK", "SLACK_BOT_TOKEN"}}
	p, err := Start(guardCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, p)
	if p.Err() != nil {
		t.Fatalf("script failed: %v", p.Err())
	}
	read := func(name string) []string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(data)), "\n")
	}
	env := read("env")
	for _, want := range []string{"HOME=" + home, "ANTHROPIC_API_KEY=k", "CLAUDE_CODE_MAX_RETRIES=1", "LC_ALL=C", "EXTRA_OK=1"} {
		if !slices.Contains(env, want) {
			t.Errorf("child env lacks %s", want)
		}
	}
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "SLACK_"), strings.HasPrefix(name, "DISCORD_"), strings.HasPrefix(name, "REDIS_"),
			strings.HasPrefix(name, "HOTLINE_"), name == "CLAUDECODE", name == "OTHER":
			t.Errorf("child env has %s", kv)
		}
	}
	if pwd := read("pwd"); len(pwd) != 1 || pwd[0] != work {
		t.Errorf("child cwd %q, want %q", pwd, work)
	}
	if args := read("args"); !slices.Equal(args, Argv(cfg)) {
		t.Errorf("child args %q", args)
	}
}

// A bridge killed with SIGKILL cannot stop its agents; Pdeathsig must.
func TestAgentDiesWithBridge(t *testing.T) {
	bridge := exec.Command(os.Args[0], "-test.run=^$")
	bridge.Env = append(os.Environ(), crashedBridgeEnv+"="+t.TempDir(), testbin.MockCLIEnv+"="+testbin.MockCLI(t))
	out, err := bridge.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bridge.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = bridge.Process.Kill()
		_ = bridge.Wait()
		t.Fatalf("bridge: %v", err)
	}
	agent, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		_ = bridge.Process.Kill()
		_ = bridge.Wait()
		t.Fatalf("bridge said %q", line)
	}
	start := startTime(t, agent)
	if err := bridge.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = bridge.Wait()
	deadline := time.Now().Add(guard)
	for alive(agent, start) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-agent, syscall.SIGKILL)
			t.Fatalf("agent %d outlived its bridge", agent)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
