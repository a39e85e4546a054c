package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/internal/redistest"
)

// A bridge killed with SIGKILL leaves its store; the next bridge resumes
// every thread's conversation with --resume.
func TestRestartAfterSIGKILLResumes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra func(t *testing.T) []string
	}{
		{"bolt", func(*testing.T) []string { return nil }},
		{"redis", func(t *testing.T) []string { return []string{"REDIS_URL=" + redistest.Start(t).URL()} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDirs(t)
			extra := tc.extra(t)
			b := startBridge(t, d, extra...)
			b.say("one")
			b.expect("ECHO: one")
			b.say("two")
			b.expect("ECHO: two")
			// The agent writes the turn's transcript just after its result,
			// and SIGKILL takes the agent along (Pdeathsig): wait until the
			// turn is on disk rather than for a fixed time.
			waitTranscript(t, d.home, "two")
			b.signal(syscall.SIGKILL)
			b.wait()
			waitNoAgents(t, d.home) // parent-death signal
			b2 := startBridge(t, d, extra...)
			b2.say("HISTORY")
			b2.expect("HISTORY: one | two")
			b2.say("/quit")
			if code := b2.wait(); code != 0 {
				t.Fatalf("exit %d", code)
			}
			// stderr is copied by its own goroutine, behind stdout; all of
			// it has arrived only once the bridge has exited.
			if !strings.Contains(b2.logs(), `"resume":true`) {
				t.Fatalf("second bridge did not resume:\n%s", b2.logs())
			}
		})
	}
}

func TestIdleEvictionThenResume(t *testing.T) {
	d := newDirs(t)
	b := startBridge(t, d, "HOTLINE_IDLE_TIMEOUT=300ms")
	b.say("one")
	b.expect("ECHO: one")
	b.say("two")
	b.expect("ECHO: two")
	waitNoAgents(t, d.home) // evicted after 300ms idle
	b.say("HISTORY")
	b.expect("HISTORY: one | two")
	b.say("/quit")
	b.wait()
}

// SIGTERM during a turn: the turn is interrupted after the grace period,
// the thread is told to resend, every agent stops, the exit code is 0.
func TestShutdownDuringTurnLeavesNoAgent(t *testing.T) {
	d := newDirs(t)
	b := startBridge(t, d, "HOTLINE_SHUTDOWN_GRACE=300ms")
	b.say("/thread a")
	b.say("warm")
	b.expect("ECHO: warm")
	b.say("/thread b")
	b.say("STREAM:2000:20")
	waitStatus(t, "http://"+b.addr+"/metrics", 200, "hotline_first_token_seconds_count 2") // streaming now
	b.signal(syscall.SIGTERM)
	b.expect("send it again")
	if code := b.wait(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", code, b.logs())
	}
	waitNoAgents(t, d.home)
}

func TestReadyzDegradesWhileRedisIsDown(t *testing.T) {
	rs := redistest.Start(t)
	d := newDirs(t)
	b := startBridge(t, d, "REDIS_URL="+rs.URL())
	url := "http://" + b.addr + "/readyz"
	if code, body := get(t, url); code != 200 {
		t.Fatalf("readyz %d %s", code, body)
	}
	b.say("before")
	b.expect("ECHO: before")
	rs.Kill()
	waitStatus(t, url, 503, `"store"`)
	b.say("during") // the warm session keeps serving
	b.expect("ECHO: during")
	rs.Restart(t)
	waitStatus(t, url, 200, `"store":"ok"`)
	b.say("HISTORY")
	b.expect("HISTORY: before | during")
	b.say("/quit")
	b.wait()
}

func waitStatus(t *testing.T, url string, want int, body string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var code int
	var got string
	for time.Now().Before(deadline) {
		if code, got = get(t, url); code == want && strings.Contains(got, body) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %d %s, want %d with %s", url, code, got, want, body)
}

func TestMetricsCountTurns(t *testing.T) {
	b := startBridge(t, newDirs(t))
	b.say("hi")
	b.expect("ECHO: hi")
	_, m := get(t, "http://"+b.addr+"/metrics")
	for _, want := range []string{`hotline_turns_total{outcome="ok"} 1`, `hotline_agent_spawns_total{resume="false"} 1`, "hotline_warm_sessions 1", "hotline_turn_seconds_count 1"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	b.say("/quit")
	b.wait()
}

// A message whose turn runs when the bridge is SIGKILLed is answered by the
// next bridge with a request to send it again; the thread goes on.
func TestInFlightMessageToldAfterSIGKILL(t *testing.T) {
	d := newDirs(t)
	b := startBridge(t, d)
	b.say("one")
	b.expect("ECHO: one")
	b.say("STREAM:2000:20")
	waitStatus(t, "http://"+b.addr+"/metrics", 200, "hotline_first_token_seconds_count 2")
	b.signal(syscall.SIGKILL)
	b.wait()
	waitNoAgents(t, d.home)
	b2 := startBridge(t, d)
	b2.expect("please send it again")
	b2.say("HISTORY")
	b2.expect("HISTORY: one")
	b2.say("/quit")
	b2.wait()
	b3 := startBridge(t, d) // told once, not at every start
	b3.say("ping")
	b3.expect("ECHO: ping")
	b3.say("/quit")
	b3.wait()
	for _, l := range b3.output() {
		if strings.Contains(l, "send it again") {
			t.Fatalf("told twice: %q", l)
		}
	}
}
