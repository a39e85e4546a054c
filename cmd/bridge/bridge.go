package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/proc"
	"github.com/hotline-dev/hotline/sessionstore"
	"github.com/hotline-dev/hotline/waf"
)

// adapter is one chat platform connection.
type adapter interface {
	Name() string
	Run(ctx context.Context) error
	Ready() error
}

type bridge struct {
	cfg         Config
	log         *logrus.Logger
	kind        proc.Kind
	path        string
	store       *sessionstore.Resilient
	router      *core.Router
	closeAgents func(context.Context) error // the OpenCode server, when one runs
	metrics     *metrics
	adapters    []adapter
	handlers    map[string]http.Handler // extra HTTP routes, e.g. /slack/events
	httpLn      net.Listener
}

func newBridge(ctx context.Context, cfg Config, log *logrus.Logger, stdin io.Reader, stdout io.Writer) (*bridge, error) {
	b := &bridge{cfg: cfg, log: log, handlers: map[string]http.Handler{}}
	var err error
	if b.kind, b.path, err = resolveAgent(cfg, log); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("HOTLINE_DATA_DIR: %w", err)
	}
	pidDir := filepath.Join(cfg.DataDir, "agents")
	if n, err := proc.ReapOrphans(pidDir, log); err != nil {
		log.WithError(err).Warn("looking for agents left by an earlier run")
	} else if n > 0 {
		log.WithField("count", n).Warn("stopped agents left by an earlier run")
	}
	sessionstore.SetRedisLogger(log.WithField("component", "redis"))
	st, err := sessionstore.Open(ctx, sessionstore.Options{RedisURL: cfg.RedisURL, DataDir: cfg.DataDir, Prefix: cfg.RedisPrefix, Retention: cfg.Retention, Log: log})
	if err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	b.store = sessionstore.NewResilient(st, log)
	fw, err := waf.New(waf.Options{RulesFile: cfg.WAFRules, Policies: cfg.WAFPolicies, ScreenPrompts: cfg.WAFScreenPrompts, Home: cfg.AgentHome})
	if err != nil {
		b.store.Close()
		return nil, fmt.Errorf("firewall (HOTLINE_WAF_RULES, HOTLINE_WAF_POLICIES): %w", err)
	}
	spawn, err := b.spawner(pidDir)
	if err != nil {
		b.store.Close()
		return nil, err
	}
	b.metrics = newMetrics(func() float64 { return float64(b.warm()) })
	host, _ := os.Hostname()
	b.router, err = core.New(core.Config{
		Spawn: spawn, Store: b.store, Firewall: fw, Observer: b.metrics,
		Agent: string(b.kind), Instance: fmt.Sprintf("%s/%d", host, os.Getpid()),
		QueueDepth: cfg.QueueDepth, MaxSessions: cfg.MaxSessions, IdleTimeout: cfg.IdleTimeout,
		TurnTimeout: cfg.TurnTimeout, ApprovalTimeout: cfg.ApprovalTimeout, Log: log,
	})
	if err != nil {
		b.store.Close()
		return nil, err
	}
	if err := b.addAdapters(stdin, stdout); err != nil {
		b.router.Close(context.Background())
		b.store.Close()
		return nil, err
	}
	return b, nil
}

func (b *bridge) warm() int {
	if b.router == nil {
		return 0
	}
	return b.router.Sessions()
}

// resolveAgent picks the agent kind and binary, saying so when it falls back
// to the mock agent.
func resolveAgent(cfg Config, log *logrus.Logger) (proc.Kind, string, error) {
	kind, path := proc.Kind(cfg.Agent), cfg.AgentPath
	if kind == "" {
		if p, err := exec.LookPath("claude"); err == nil && path == "" {
			return proc.KindClaude, p, nil
		}
		kind = proc.KindMock
		if path == "" || filepath.Base(path) == "mockcli" {
			log.Warn("no agent binary configured and no claude on PATH: using the mock agent (set HOTLINE_AGENT=claude and HOTLINE_AGENT_PATH for a real one)")
		}
	}
	if path == "" {
		path = defaultPath(kind)
	}
	p, err := exec.LookPath(path)
	if err != nil {
		return "", "", fmt.Errorf("HOTLINE_AGENT_PATH: agent binary %q not found: %w", path, err)
	}
	return kind, p, nil
}

func defaultPath(kind proc.Kind) string {
	switch kind {
	case proc.KindClaude:
		return "claude"
	case proc.KindOpenCode:
		return "opencode"
	}
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "mockcli"); fileExists(p) {
			return p
		}
	}
	return "mockcli"
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// run serves until ctx ends, then shuts down in order: refuse new messages
// and let running turns finish (HOTLINE_SHUTDOWN_GRACE), stop the agents,
// disconnect the platforms, close the store.
func (b *bridge) run(ctx context.Context) error {
	srv, err := b.serveHTTP()
	if err != nil {
		return err
	}
	actx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errc := make(chan error, len(b.adapters))
	for _, a := range b.adapters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Run(actx); err != nil {
				errc <- fmt.Errorf("%s: %w", a.Name(), err)
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); b.recoverInterrupted(actx) }()
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	var runErr error
	select {
	case <-ctx.Done():
		b.log.Info("shutting down")
	case runErr = <-errc:
	case <-allDone: // the terminal ended (EOF or /quit)
	}
	gctx, gcancel := context.WithTimeout(context.Background(), b.cfg.ShutdownGrace)
	b.router.Close(gctx)
	gcancel()
	b.stopAgents()
	cancel()
	wg.Wait()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	srv.Shutdown(sctx)
	scancel()
	if err := b.store.Close(); err != nil {
		b.log.WithError(err).Warn("closing the session store")
	}
	return runErr
}

func (b *bridge) serveHTTP() (*http.Server, error) {
	ln, err := net.Listen("tcp", b.cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("HOTLINE_HTTP_ADDR: %w", err)
	}
	b.httpLn = ln
	srv := &http.Server{Handler: b.mux(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.WithError(err).Error("http server")
		}
	}()
	b.log.WithField("addr", ln.Addr().String()).Info("serving /healthz, /readyz, /metrics")
	return srv, nil
}

// check validates connectivity and exits: 0 when everything answers.
func (b *bridge) check(ctx context.Context, out io.Writer) int {
	code := 0
	for _, p := range b.probes(ctx) {
		status := "ok"
		if p.err != nil {
			status, code = p.err.Error(), 1
		}
		fmt.Fprintf(out, "%-10s %s\n", p.name, status)
	}
	b.router.Close(context.Background())
	b.stopAgents()
	b.store.Close()
	return code
}
