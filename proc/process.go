package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

const (
	defaultStopGrace = 3 * time.Second
	stderrTailLines  = 20
)

// Process is one running agent CLI. All methods are safe for concurrent
// use; Turn runs one turn at a time.
type Process struct {
	cfg     Config
	log     logrus.FieldLogger
	cmd     *exec.Cmd
	pid     int
	grace   time.Duration
	pidFile string

	lineLimit int // longest stdout line kept

	stdin       *os.File
	stdinClosed atomic.Bool
	closeStdin  sync.Once
	wmu         sync.Mutex // one whole line at a time on stdin
	dmu         sync.Mutex // write deadline vs. stale cancellations
	wgen        uint64     // guarded by dmu
	wexpired    bool       // guarded by dmu: a past deadline is set

	sid atomic.Pointer[string]

	busy  atomic.Bool          // a turn is active
	cur   atomic.Pointer[turn] // the turn whose events the reader delivers
	ended atomic.Bool          // wait has ended the current turn, if any

	ctl controlState

	// base ends on exit and on Stop; control handler contexts derive from it.
	base       context.Context
	baseCancel context.CancelFunc

	stopping atomic.Bool
	stopOnce sync.Once

	stdoutR, stderrR *os.File
	ioWG             sync.WaitGroup // stdout and stderr readers
	stderr           tailBuf

	exited  chan struct{} // closed once cmd.Wait has returned
	waitErr error         // set before exited is closed
	done    chan struct{}
}

// ExitError is the error of a turn whose process exited. It matches
// ErrExited with errors.Is, and also ErrClosed when the exit was caused by
// Stop.
type ExitError struct {
	Err     error    // from wait: exit status or signal; nil for status 0
	Stderr  []string // the last lines of the process's stderr
	Stopped bool     // Stop was called
}

func (e *ExitError) Error() string {
	var b strings.Builder
	b.WriteString(ErrExited.Error())
	if e.Stopped {
		b.WriteString(" (stopped)")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString(": exit status 0")
	}
	if len(e.Stderr) > 0 {
		b.WriteString("; stderr: ")
		b.WriteString(strings.Join(e.Stderr, " | "))
	}
	return b.String()
}

// Is makes errors.Is(err, ErrExited) (and ErrClosed after Stop) true.
func (e *ExitError) Is(target error) bool {
	return target == ErrExited || (e.Stopped && target == ErrClosed)
}

func (e *ExitError) Unwrap() error { return e.Err }

var discard = func() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}()

func discardLogger() logrus.FieldLogger { return discard }

// Start spawns the agent and returns as soon as it runs. With cfg.Hooks set
// it writes the initialize request at once (the CLI reads it before the
// first turn; there is no readiness wait). ctx bounds only Start itself:
// the process lives until Stop or Kill.
func Start(ctx context.Context, cfg Config) (*Process, error) {
	switch cfg.Kind {
	case KindClaude, KindMock:
	case KindOpenCode:
		return nil, fmt.Errorf("proc: agent kind %q is not supported yet", cfg.Kind)
	default:
		return nil, fmt.Errorf("proc: unknown agent kind %q", cfg.Kind)
	}
	if cfg.Path == "" {
		return nil, errors.New("proc: no agent binary path")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &Process{cfg: cfg, log: cfg.Log, grace: cfg.StopGrace, lineLimit: lineLimit,
		exited: make(chan struct{}), done: make(chan struct{})}
	if p.log == nil {
		p.log = discardLogger()
	}
	if p.grace <= 0 {
		p.grace = defaultStopGrace
	}
	p.ctl.init()
	if err := p.spawn(); err != nil {
		return nil, err
	}
	if cfg.PIDDir != "" {
		if err := p.recordPID(); err != nil {
			p.Kill()
			<-p.done
			return nil, err
		}
	}
	if len(cfg.Hooks) > 0 {
		if err := p.initialize(ctx); err != nil {
			p.Kill()
			<-p.done
			return nil, err
		}
	}
	return p, nil
}

func (p *Process) spawn() error {
	cfg := p.cfg
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	cmd := exec.Command(cfg.Path, Argv(cfg)...)
	cmd.Dir = cfg.Dir
	cmd.Env = withHome(AgentEnv(cfg.Kind, env, cfg.PassEnv), cfg.Home)
	// Own group so that stop signals reach the agent's tool subprocesses;
	// Pdeathsig so that no agent outlives a crashed bridge.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	var child []*os.File
	closeAll := func(fs ...*os.File) {
		for _, f := range fs {
			_ = f.Close()
		}
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("proc: pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW)
		return fmt.Errorf("proc: pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW, outR, outW)
		return fmt.Errorf("proc: pipe: %w", err)
	}
	child = []*os.File{inR, outW, errW}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	if err := cmd.Start(); err != nil {
		closeAll(append(child, inW, outR, errR)...)
		return fmt.Errorf("proc: start %s: %w", cfg.Path, err)
	}
	closeAll(child...) // the child has its copies; EOF must come when it exits
	p.cmd, p.pid = cmd, cmd.Process.Pid
	p.stdin, p.stdoutR, p.stderrR = inW, outR, errR
	p.base, p.baseCancel = context.WithCancel(context.Background())
	if cfg.SessionID != "" {
		sid := cfg.SessionID
		p.sid.Store(&sid)
	}
	p.log = p.log.WithFields(logrus.Fields{"agent_pid": p.pid, "agent_kind": string(cfg.Kind)})
	p.log.Debug("agent started")
	p.ioWG.Add(2)
	go p.readStdout()
	go p.readStderr()
	if !exits.watch(p) {
		go p.wait()
	}
	return nil
}

func (p *Process) recordPID() error {
	st, err := readStat(p.pid)
	if err != nil {
		return fmt.Errorf("proc: reading start time of pid %d: %w", p.pid, err)
	}
	path, err := writePIDFile(p.cfg.PIDDir, pidRecord{PID: p.pid, PGID: p.pid, Start: st.Start, Path: p.cfg.Path})
	if err != nil {
		return err
	}
	p.pidFile = path
	return nil
}

// wait reaps the process and then winds everything down. It owns done.
func (p *Process) wait() {
	p.waitErr = p.cmd.Wait()
	close(p.exited)
	// The leader is gone; anything left in its group is an orphaned tool
	// process. The group id cannot have been reused while members remain.
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	p.baseCancel()
	if p.pidFile != "" {
		if err := os.Remove(p.pidFile); err != nil {
			p.log.WithError(err).Warn("removing agent pid file")
		}
	}
	readers := make(chan struct{})
	go func() { p.ioWG.Wait(); close(readers) }()
	select {
	case <-readers:
	case <-time.After(p.grace):
		// Someone outside the group still holds the pipes open; stop
		// reading rather than wait forever.
		p.log.Warn("agent pipes still open after exit; closing them")
		now := time.Now()
		_ = p.stdoutR.SetReadDeadline(now)
		_ = p.stderrR.SetReadDeadline(now)
		<-readers
	}
	p.ctl.wg.Wait()
	// A turn still waiting learns of the exit here; begin checks ended
	// after publishing its turn, so one of the two sees the other.
	p.ended.Store(true)
	if t := p.cur.Load(); t != nil {
		t.finish(delivery{err: p.exitError()})
	}
	_ = p.stdoutR.Close()
	_ = p.stderrR.Close()
	p.closeStdin.Do(func() { p.stdinClosed.Store(true); _ = p.stdin.Close() })
	p.log.WithField("exit", exitString(p.waitErr)).Debug("agent exited")
	close(p.done)
}

func exitString(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// PID is the process id (and process group id) of the agent.
func (p *Process) PID() int { return p.pid }

// SessionID is cfg.SessionID, or the id the CLI reported in system/init or
// result.
func (p *Process) SessionID() string {
	if s := p.sid.Load(); s != nil {
		return *s
	}
	return ""
}

// Done is closed when the process has exited and all its goroutines ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the exit error after Done (nil for exit status 0).
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.waitErr
	default:
		return nil
	}
}

func (p *Process) exitError() error {
	return &ExitError{Err: p.waitErr, Stderr: p.stderr.lines(), Stopped: p.stopping.Load()}
}

// Kill sends SIGKILL to the process group now.
func (p *Process) Kill() {
	select {
	case <-p.exited:
		return // reaped: the pid may belong to someone else by now
	default:
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
}

// Stop stops the agent in stages: close stdin (a healthy CLI flushes its
// transcript and exits), then SIGTERM to the group, then SIGKILL, waiting
// StopGrace between stages. It returns once the process is reaped and its
// goroutines ended; if ctx ends first it kills at once and returns ctx.Err()
// after the reap. Idempotent; a running Turn returns an error.
func (p *Process) Stop(ctx context.Context) error {
	p.stopping.Store(true)
	p.baseCancel()
	first := false
	p.stopOnce.Do(func() { first = true })
	if first {
		p.stages(ctx)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		p.Kill()
		<-p.exited
		return ctx.Err()
	}
}

func (p *Process) stages(ctx context.Context) {
	p.closeStdin.Do(func() { p.stdinClosed.Store(true); _ = p.stdin.Close() })
	if p.waitExit(ctx) {
		return
	}
	p.log.Info("agent ignored closed stdin; sending SIGTERM")
	_ = syscall.Kill(-p.pid, syscall.SIGTERM)
	if p.waitExit(ctx) {
		return
	}
	p.log.Warn("agent ignored SIGTERM; sending SIGKILL")
	p.Kill()
}

// waitExit waits one grace period for the exit; false means escalate. An
// ended ctx counts as exited: Stop then kills.
func (p *Process) waitExit(ctx context.Context) bool {
	t := time.NewTimer(p.grace)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-ctx.Done():
		return true
	case <-t.C:
		return false
	}
}

// tailBuf keeps the last stderr lines for error messages.
type tailBuf struct {
	mu  sync.Mutex
	buf [stderrTailLines]string
	n   int // lines written in total
}

func (t *tailBuf) add(s string) {
	t.mu.Lock()
	t.buf[t.n%len(t.buf)] = s
	t.n++
	t.mu.Unlock()
}

func (t *tailBuf) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := min(t.n, len(t.buf))
	out := make([]string, 0, k)
	for i := t.n - k; i < t.n; i++ {
		out = append(out, t.buf[i%len(t.buf)])
	}
	return out
}
