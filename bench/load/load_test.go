package load

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hotline-dev/hotline/internal/testbin"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { testbin.Cleanup() }))
}

// TestRunSmall runs the generator at a small size: every message answered
// with the agent's exact reply, and the figures are filled in.
func TestRunSmall(t *testing.T) {
	for _, plat := range []string{"slack", "discord"} {
		t.Run(plat, func(t *testing.T) { runSmall(t, plat) })
	}
}

func runSmall(t *testing.T, plat string) {
	res, err := Run(context.Background(), Config{Platform: plat, MockCLI: testbin.MockCLI(t), Threads: 4, Messages: 2,
		Prompt: "STREAM:4:5", EditInterval: 20 * time.Millisecond, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Platform != plat {
		t.Fatalf("platform %q", res.Platform)
	}
	if res.Sent != 8 || res.Answered != 8 || res.Lost != 0 || res.Wrong != 0 {
		t.Fatalf("sent %d answered %d lost %d wrong %d", res.Sent, res.Answered, res.Lost, res.Wrong)
	}
	if res.FirstPost.N != 8 || res.FirstPost.P50 <= 0 || res.FinalEdit.P99 < res.FirstPost.P50 {
		t.Fatalf("latencies %+v / %+v", res.FirstPost, res.FinalEdit)
	}
	if res.AgentFirst.N != 8 || res.Overhead.N != 8 {
		t.Fatalf("agent samples %d overhead samples %d", res.AgentFirst.N, res.Overhead.N)
	}
	if res.Agents != 4 || res.AgentRSS <= 0 {
		t.Fatalf("agents %d rss %d", res.Agents, res.AgentRSS)
	}
}

func TestWant(t *testing.T) {
	for in, out := range map[string]string{
		"STREAM:3:10 t1m0": "tok1 tok2 tok3",
		"hello t0m1":       "ECHO: hello t0m1",
	} {
		if got := want(in); got != out {
			t.Errorf("want(%q) = %q, wanted %q", in, got, out)
		}
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	if _, err := Run(context.Background(), Config{MockCLI: "/nonexistent", Threads: 0, Messages: 1}); err == nil {
		t.Fatal("zero threads accepted")
	}
	if _, err := Run(context.Background(), Config{MockCLI: "/nonexistent/mockcli", Threads: 1, Messages: 1}); err == nil {
		t.Fatal("missing mockcli accepted")
	}
	if _, err := Run(context.Background(), Config{Platform: "irc", Threads: 1, Messages: 1}); err == nil {
		t.Fatal("unknown platform accepted")
	}
}
