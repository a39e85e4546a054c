package opencode

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/proc"
)

const (
	stderrTailLines = 20
	listenPrefix    = "opencode server listening on "
	serverUser      = "opencode" // OpenCode's default basic-auth user
)

// server is one `opencode serve` process and its event bus subscription.
type server struct {
	cfg  Config
	log  logrus.FieldLogger
	cmd  *exec.Cmd
	pid  int
	url  string // http://127.0.0.1:port, no trailing slash
	pass string // basic-auth password, random per server; never logged
	hc   *http.Client

	ctx    context.Context // ends on stop; the bus loop and requests derive from it
	cancel context.CancelFunc
	wg     sync.WaitGroup // output readers, bus loop, background aborts

	tailMu sync.Mutex
	tail   []string // last stderr lines

	outR, errR *os.File       // our ends of its stdout and stderr
	readers    sync.WaitGroup // the two output readers

	exited  chan struct{} // closed after cmd.Wait
	waitErr error         // set before exited is closed

	connected chan struct{} // closed when the bus first answers
	connOnce  sync.Once

	mu     sync.Mutex
	agents map[string]*Agent // by OpenCode session id (and child session ids)
	closed bool              // no new agents after exit or stop
}

func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("opencode: password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// serverEnv is the allow-listed environment plus the server's own settings.
func serverEnv(cfg *Config, pass string) []string {
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	out := proc.AgentEnv(proc.KindOpenCode, env, cfg.PassEnv)
	set := func(name, value string) {
		kept := out[:0]
		for _, kv := range out {
			if !strings.HasPrefix(kv, name+"=") {
				kept = append(kept, kv)
			}
		}
		out = append(kept, name+"="+value)
	}
	if cfg.Home != "" {
		set("HOME", cfg.Home)
	}
	if cfg.ConfigFile != "" {
		set("OPENCODE_CONFIG", cfg.ConfigFile)
	}
	set("OPENCODE_SERVER_USERNAME", serverUser)
	set("OPENCODE_SERVER_PASSWORD", pass)
	if !hasName(out, "OPENCODE_DISABLE_AUTOUPDATE") {
		out = append(out, "OPENCODE_DISABLE_AUTOUPDATE=1") // a bridge must not replace its agent mid-run
	}
	return out
}

func hasName(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// startServer runs `opencode serve` on a free loopback port and returns
// once it listens and its event bus answers. ctx bounds only the start.
func startServer(ctx context.Context, cfg Config) (*server, error) {
	pass, err := randomPassword()
	if err != nil {
		return nil, err
	}
	s, outR, errR, err := spawnServer(cfg, pass)
	if err != nil {
		return nil, err
	}
	listening := make(chan string, 1)
	s.readers.Add(2)
	s.wg.Add(3)
	go func() { defer s.wg.Done(); defer s.readers.Done(); s.readStdout(outR, listening) }()
	go func() { defer s.wg.Done(); defer s.readers.Done(); s.readStderr(errR) }()
	go func() { defer s.wg.Done(); s.reap() }()
	if err := s.awaitReady(ctx, listening); err != nil {
		s.stop(context.Background())
		return nil, err
	}
	s.log.WithField("url", s.url).Info("opencode server ready")
	return s, nil
}

// spawnServer starts the process with its output on pipes of our own:
// exec's pipes would make Wait wait for every process holding them, and a
// tool the agent left running in the background holds them.
func spawnServer(cfg Config, pass string) (*server, *os.File, *os.File, error) {
	args := append([]string{"serve", "--hostname", "127.0.0.1", "--port", "0"}, cfg.ExtraArgs...)
	cmd := exec.Command(cfg.Path, args...)
	cmd.Dir = cfg.Dir
	cmd.Env = serverEnv(&cfg, pass)
	// Own group so that stop signals reach the tools the agent runs;
	// Pdeathsig so that no agent outlives a crashed bridge.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("opencode: pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_, _ = outR.Close(), outW.Close()
		return nil, nil, nil, fmt.Errorf("opencode: pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	_, _ = outW.Close(), errW.Close() // the child has its copies; EOF must come when they go
	if err != nil {
		_, _ = outR.Close(), errR.Close()
		return nil, nil, nil, fmt.Errorf("opencode: start %s: %w", cfg.Path, err)
	}
	s := &server{cfg: cfg, cmd: cmd, pid: cmd.Process.Pid, pass: pass, outR: outR, errR: errR,
		log:    cfg.Log.WithField("opencode_pid", cmd.Process.Pid),
		hc:     &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: time.Minute}},
		exited: make(chan struct{}), connected: make(chan struct{}), agents: map[string]*Agent{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, outR, errR, nil
}

// reap waits for the server's exit and ends everything that hung on it.
func (s *server) reap() {
	s.waitErr = s.cmd.Wait()
	// Tools the agent started stay in its group after the leader died.
	// Right after the reap the group id cannot belong to anyone else (it
	// is in use while members live); later it might.
	_ = syscall.Kill(-s.pid, syscall.SIGKILL)
	close(s.exited)
	s.log.WithField("exit", fmt.Sprint(s.waitErr)).Info("opencode server exited")
	s.cancel()
	s.orphanAgents()
}

func (s *server) awaitReady(ctx context.Context, listening <-chan string) error {
	timer := time.NewTimer(s.cfg.StartTimeout)
	defer timer.Stop()
	select {
	case s.url = <-listening:
	case <-s.exited:
		return s.startError("exited before listening")
	case <-timer.C:
		return s.startError(fmt.Sprintf("did not listen within %s", s.cfg.StartTimeout))
	case <-ctx.Done():
		return ctx.Err()
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.busLoop() }()
	select {
	case <-s.connected:
		return nil
	case <-s.exited:
		return s.startError("exited before its event stream answered")
	case <-timer.C:
		return s.startError(fmt.Sprintf("event stream did not answer within %s", s.cfg.StartTimeout))
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *server) startError(what string) error {
	select {
	case <-s.exited:
		// The exit can be reaped before the stderr reader has read what the
		// server said on its way out, which is the useful part here.
		idle := make(chan struct{})
		go func() { s.readers.Wait(); close(idle) }() // ends at EOF, or when stop closes the pipes
		t := time.NewTimer(s.cfg.StopGrace)
		select {
		case <-idle:
		case <-t.C:
		}
		t.Stop()
	default:
	}
	msg := "opencode: server " + what
	if t := s.stderrTail(); len(t) > 0 {
		msg += "; stderr: " + strings.Join(t, " | ")
	}
	return errors.New(msg)
}

func (s *server) readStdout(r io.Reader, listening chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, listenPrefix); ok && !sent {
			listening <- strings.TrimRight(strings.TrimSpace(rest), "/")
			sent = true
			continue
		}
		s.log.WithField("line", line).Debug("opencode stdout")
	}
	_, _ = io.Copy(io.Discard, r) // a line over the limit: keep the pipe drained
}

func (s *server) readStderr(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		s.tailMu.Lock()
		if len(s.tail) == stderrTailLines {
			copy(s.tail, s.tail[1:])
			s.tail = s.tail[:stderrTailLines-1]
		}
		s.tail = append(s.tail, line)
		s.tailMu.Unlock()
		s.log.WithField("line", line).Debug("opencode stderr")
	}
	_, _ = io.Copy(io.Discard, r)
}

func (s *server) stderrTail() []string {
	s.tailMu.Lock()
	defer s.tailMu.Unlock()
	return append([]string(nil), s.tail...)
}

// exitError describes the server's end for a turn that it cut short.
func (s *server) exitError(stopped bool) error {
	select {
	case <-s.exited:
		return &proc.ExitError{Err: s.waitErr, Stderr: s.stderrTail(), Stopped: stopped}
	default:
		return &proc.ExitError{Err: errors.New("opencode server unreachable"), Stderr: s.stderrTail(), Stopped: stopped}
	}
}

func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return !s.isClosed()
	}
}

func (s *server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// stop ends the server in stages: SIGTERM to its group, SIGKILL after
// StopGrace; it returns once the process is reaped and every goroutine of
// the server has ended. If ctx ends first the group is killed at once.
func (s *server) stop(ctx context.Context) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	if s.pid <= 0 {
		return // never started: kill(-0) would signal our own group
	}
	select {
	case <-s.exited: // reaped (and its group killed) already: the pid may be reused
	default:
		_ = syscall.Kill(-s.pid, syscall.SIGTERM)
		t := time.NewTimer(s.cfg.StopGrace)
		select {
		case <-s.exited:
		case <-t.C:
			s.log.Warn("opencode server ignored SIGTERM; killing its group")
			_ = syscall.Kill(-s.pid, syscall.SIGKILL)
		case <-ctx.Done():
			_ = syscall.Kill(-s.pid, syscall.SIGKILL)
		}
		t.Stop()
	}
	<-s.exited
	// The readers end at EOF once the group is gone; a process that left
	// the group may still hold the pipes, so do not wait for it forever.
	idle := make(chan struct{})
	go func() { s.readers.Wait(); close(idle) }()
	t := time.NewTimer(s.cfg.StopGrace)
	select {
	case <-idle:
	case <-t.C:
		s.log.Warn("opencode server output still held open after exit; closing it")
	}
	t.Stop()
	_, _ = s.outR.Close(), s.errR.Close()
	<-idle
	s.wg.Wait()
	s.hc.CloseIdleConnections()
}

// register routes a session's events to a.
func (s *server) register(id string, a *Agent) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.agents[id] = a
	return true
}

func (s *server) unregister(a *Agent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, b := range s.agents {
		if b == a {
			delete(s.agents, id)
		}
	}
}

func (s *server) agent(id string) *Agent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agents[id]
}

// orphanAgents ends every agent of a server that exited.
func (s *server) orphanAgents() {
	s.mu.Lock()
	s.closed = true
	var all []*Agent
	for _, a := range s.agents {
		all = append(all, a)
	}
	s.agents = map[string]*Agent{}
	s.mu.Unlock()
	for _, a := range all {
		a.serverGone()
	}
}
