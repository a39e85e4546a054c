// Package redistest runs a private redis-server for tests, on a free port
// with its own directory and no persistence, so tests can kill and restart
// it. It never touches a system Redis on the default port.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	binary       = "redis-server"
	defaultPort  = 6379
	readyTimeout = 20 * time.Second
	startTries   = 5
)

// Server is one redis-server process under test control.
type Server struct {
	port int
	dir  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *syncBuffer
	exit chan struct{} // closed when the current process has exited
}

// Start runs redis-server on a free port and waits until it answers PING.
// The server is killed when tb ends. A missing binary fails the test: run
// `make test`, which installs redis-server.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if _, err := exec.LookPath(binary); err != nil {
		tb.Fatalf("redistest: %s not found on PATH (%v); `make test` installs it with apt-get, or install the redis-server package", binary, err)
	}
	s := &Server{dir: tb.TempDir()}
	tb.Cleanup(s.Kill)
	var lastErr error
	for range startTries {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("redistest: find a free port: %v", err)
		}
		s.port = port
		// Another process may take the port between our probe and the
		// server's bind; try a fresh one then.
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	tb.Fatalf("redistest: %v", lastErr)
	return nil
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is a redis:// URL for database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Kill sends SIGKILL and waits for the process to exit. Data is lost
// (nothing is persisted). Killing a stopped server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exit
}

// Restart starts the server again on the same port (after Kill, or kills
// it first) and waits until it answers PING.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Kill()
	if err := s.start(); err != nil {
		tb.Fatalf("redistest: restart: %v", err)
	}
}

func (s *Server) start() error {
	cmd := exec.Command(binary,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
	)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// If the test binary dies, the kernel kills the server too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", binary, err)
	}
	exit := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exit) }()
	s.mu.Lock()
	s.cmd, s.out, s.exit = cmd, out, exit
	s.mu.Unlock()
	if err := s.waitReady(exit); err != nil {
		s.Kill()
		return fmt.Errorf("%s on port %d: %w; output:\n%s", binary, s.port, err, out.String())
	}
	return nil
}

// waitReady polls with PING until +PONG, the process exits, or the guard
// timeout passes.
func (s *Server) waitReady(exit <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		err := ping(s.Addr())
		if err == nil {
			return nil
		}
		select {
		case <-exit:
			return fmt.Errorf("exited before answering PING")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PING answer within %s: %w", readyTimeout, err)
		}
	}
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("unexpected PING reply %q", line)
	}
	return nil
}

func freePort() (int, error) {
	for range 10 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if port != defaultPort {
			return port, nil
		}
	}
	return 0, fmt.Errorf("kernel kept offering port %d", defaultPort)
}

// syncBuffer collects the server's output for failure messages; the
// process writes it from another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 64<<10 { // keep the head; it holds the start-up errors
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
