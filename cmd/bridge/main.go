// Command bridge runs hotline: chat threads on Slack and Discord (or a
// local terminal) bridged to warm agent CLI processes.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process exit, for tests.
func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, check, err := LoadConfig(args, getenv)
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
	if check {
		return b.check(ctx, stdout)
	}
	if err := b.run(ctx); err != nil {
		log.WithError(err).Error("bridge stopped with an error")
		return 1
	}
	return 0
}
