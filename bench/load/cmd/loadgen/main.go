// Command loadgen runs bench/load at one or more sizes and prints one JSON
// object per run (the input of bench/cmd/report) and a human summary on
// stderr.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/bench/load"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run() error {
	platforms := flag.String("platform", "slack,discord", "comma-separated platforms: slack, discord")
	threads := flag.String("threads", "10,100,1000", "comma-separated thread counts, one run each")
	msgs := flag.Int("messages", 5, "measured messages per thread (after one warm-up turn)")
	prompt := flag.String("prompt", "STREAM:8:25", "prompt prefix (mockcli directive)")
	edit := flag.Duration("edit-interval", 250*time.Millisecond, "SLACK_EDIT_INTERVAL")
	rate := flag.Float64("rate", 0, "pace the measured messages at this many per second in total (0: every thread a closed loop)")
	mock := flag.String("mockcli", os.Getenv("HOTLINE_MOCKCLI"), "mockcli binary")
	flag.Parse()
	enc := json.NewEncoder(os.Stdout)
	var sizes []int
	for _, s := range strings.Split(*threads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad -threads value %q", s)
		}
		sizes = append(sizes, n)
	}
	for _, plat := range strings.Split(*platforms, ",") {
		for _, n := range sizes {
			if err := one(enc, load.Config{Platform: strings.TrimSpace(plat), MockCLI: *mock, Threads: n, Messages: *msgs,
				Prompt: *prompt, EditInterval: *edit, Rate: *rate}); err != nil {
				return err
			}
		}
	}
	return nil
}

// one runs one size on one platform and prints its figures.
func one(enc *json.Encoder, cfg load.Config) error {
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		return fmt.Errorf("%s, %d threads: %w", cfg.Platform, cfg.Threads, err)
	}
	if err := enc.Encode(res); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s %d threads x %d msgs (rate %.0f/s, 0 = closed loops): %.0f msg/s, first post p50 %s p99 %s p99.9 %s, final p99 %s, agent-first p99 %s, overhead p50 %s p99 %s, lost %d wrong %d, heap %d MB, %d goroutines, agents %d RSS %d MB\n",
		res.Platform, res.Threads, res.Messages, res.Rate, res.MsgsPerSec, res.FirstPost.P50, res.FirstPost.P99, res.FirstPost.P999, res.FinalEdit.P99,
		res.AgentFirst.P99, res.Overhead.P50, res.Overhead.P99, res.Lost, res.Wrong, res.HeapBytes>>20, res.Goroutines, res.Agents, res.AgentRSS>>20)
	if res.Lost+res.Wrong > 0 {
		return fmt.Errorf("%s, %d threads: %d messages lost, %d threads with wrong replies", res.Platform, res.Threads, res.Lost, res.Wrong)
	}
	return nil
}
