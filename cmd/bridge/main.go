// Command bridge runs hotline: chat threads on Slack and Discord (or a
// local terminal) bridged to warm agent CLI processes.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process exit, for tests.
func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, mode, err := LoadConfig(args, getenv)
	if mode == ModeHealthcheck {
		return healthcheck(cfg.HTTPAddr, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bridge: configuration error:\n%v\n", err)
		return 2
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bridge: HOTLINE_LOG_LEVEL: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	b, err := newBridge(ctx, cfg, log, stdin, stdout)
	if err != nil {
		log.WithError(err).Error("bridge: start-up failed")
		return 1
	}
	if mode == ModeCheck {
		return b.check(ctx, stdout)
	}
	if err := b.run(ctx); err != nil {
		log.WithError(err).Error("bridge stopped with an error")
		return 1
	}
	return 0
}

// healthcheck asks a running bridge's /healthz; for container health checks.
func healthcheck(addr string, stderr io.Writer) int {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "healthcheck: status", resp.Status)
		return 1
	}
	return 0
}
