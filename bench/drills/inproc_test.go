package drills

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
	"github.com/hotline-dev/hotline/core"
)

// TestDrillHang is drill 6: an agent that hangs (mockcli HANG ignores
// stdin) must hit the turn timeout, the thread is told, and the next
// message in the same thread is answered.
func TestDrillHang(t *testing.T) {
	base := goleak.IgnoreCurrent()
	fake := fakeslack.New(fakeslack.Options{})
	b := startBridge(t, fake, func(c *core.Config) { c.TurnTimeout = 2 * time.Second; c.StopGrace = time.Second })
	c := client{t: t, fake: fake}
	n := scale(2, 10)
	lost := 0
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range n {
		wg.Go(func() {
			thr, _, _ := c.turn("", fmt.Sprintf("hello %d", i))
			_, texts, mark := c.turn(thr, "HANG")
			told := mark == "x" && strings.Contains(strings.Join(texts, "\n"), "did not finish within")
			next := fmt.Sprintf("after the hang %d", i)
			_, texts2, mark2 := c.turn(thr, next)
			served := mark2 == "white_check_mark" && len(texts2) > 0 && texts2[len(texts2)-1] == echo(next)
			if !told || !served {
				mu.Lock()
				lost++
				mu.Unlock()
				t.Errorf("thread %d: timeout told %v (%q), next served %v (%q)", i, told, texts, served, texts2)
			}
		})
	}
	wg.Wait()
	b.close()
	fake.Close()
	report(t, "%d threads hung their agent; turn timeout 2s fired in each, thread told, next message served; lost %d", n, lost)
	afterDrill(t, b.home(), base)
}

// TestDrillKillAgents is drill 2: agents are SIGKILLed at random while
// their turns stream; each affected user is told, every other turn
// finishes, and the next message in every thread is served.
func TestDrillKillAgents(t *testing.T) {
	base := goleak.IgnoreCurrent()
	fake := fakeslack.New(fakeslack.Options{})
	b := startBridge(t, fake, nil)
	c := client{t: t, fake: fake}
	n := scale(6, 50)
	threads := make([]string, n)
	for i := range threads {
		threads[i], _, _ = c.turn("", fmt.Sprintf("warm %d", i))
	}
	pids := agents(b.home())
	if len(pids) != n {
		t.Fatalf("%d agents for %d threads", len(pids), n)
	}
	// Each turn streams for about two seconds; kill half the agents
	// while they stream.
	ids := make([]string, n)
	for i, thr := range threads {
		ids[i] = c.say(thr, fmt.Sprintf("STREAM:40:50 long %d", i))
	}
	fake.WaitUntil(func() bool { return fake.Count("chat.postMessage") >= 2*n }, wait)
	rand.Shuffle(len(pids), func(i, j int) { pids[i], pids[j] = pids[j], pids[i] })
	killed := pids[:n/2]
	for _, pid := range killed {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	told, finished, lost := 0, 0, 0
	for i, thr := range threads {
		mark := c.marker(ids[i])
		all := strings.Join(c.botTexts(thr), "\n")
		switch {
		case mark == "x" && strings.Contains(all, "exited unexpectedly"):
			told++
		case mark == "white_check_mark" && strings.HasSuffix(all, streamReply(40)):
			finished++
		default:
			lost++
			t.Errorf("thread %d: marker %s, texts %q", i, mark, c.botTexts(thr))
		}
	}
	if told != len(killed) {
		t.Errorf("%d agents killed but %d threads told", len(killed), told)
	}
	for i, thr := range threads {
		next := fmt.Sprintf("next %d", i)
		if _, texts, mark := c.turn(thr, next); mark != "white_check_mark" || texts[len(texts)-1] != echo(next) {
			lost++
			t.Errorf("thread %d: next message %s %q", i, mark, texts)
		}
	}
	b.close()
	fake.Close()
	report(t, "killed %d of %d agents mid-turn: %d users told, %d turns finished, every next message served; lost %d", len(killed), n, told, finished, lost)
	afterDrill(t, b.home(), base)
}

func streamReply(n int) string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = fmt.Sprintf("tok%d", i+1)
	}
	return strings.Join(toks, " ")
}

// TestDrill429Storm is drill 4: every other chat.update answers 429 with
// Retry-After for a period while replies stream; every final text must
// equal the agent's result.
func TestDrill429Storm(t *testing.T) {
	base := goleak.IgnoreCurrent()
	fake := fakeslack.New(fakeslack.Options{})
	b := startBridge(t, fake, nil)
	c := client{t: t, fake: fake}
	n, rounds := scale(4, 20), scale(2, 10)
	threads := make([]string, n)
	for i := range threads {
		threads[i], _, _ = c.turn("", fmt.Sprintf("warm %d", i))
	}
	// Storm: every other chat.update from now on, for as many calls as
	// the drill can make.
	first := fake.Count("chat.update") + 1
	storm := n * rounds * 60
	for k := first; k < first+storm; k += 2 {
		fake.FailNth("chat.update", k, fakeslack.Fault{Status: 429, RetryAfter: "1"})
	}
	lost := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, thr := range threads {
		wg.Go(func() {
			for r := range rounds {
				prompt := fmt.Sprintf("STREAM:20:20 storm %d %d", i, r)
				_, texts, mark := c.turn(thr, prompt)
				if mark != "white_check_mark" || len(texts) != 1 || texts[0] != streamReply(20) {
					mu.Lock()
					lost++
					mu.Unlock()
					t.Errorf("thread %d round %d: %s %q", i, r, mark, texts)
				}
			}
		})
	}
	wg.Wait()
	faults := 0
	for _, call := range fake.Calls() {
		if call.Fault {
			faults++
		}
	}
	if faults == 0 {
		t.Error("the storm never hit a chat.update")
	}
	b.close()
	fake.Close()
	report(t, "%d threads x %d streamed replies under a 429 storm (every other chat.update, %d answered 429): final texts all equal the results; lost %d", n, rounds, faults, lost)
	afterDrill(t, b.home(), base)
}

// TestDrillDropSockets is drill 5: the Socket Mode websocket is dropped
// repeatedly while messages flow, and every event is delivered again after
// the reconnect (as Slack redelivers unacknowledged events, with
// retry_attempt). Every message must get exactly one turn and one reply.
func TestDrillDropSockets(t *testing.T) {
	base := goleak.IgnoreCurrent()
	fake := fakeslack.New(fakeslack.Options{})
	b := startBridge(t, fake, nil)
	c := client{t: t, fake: fake}
	n, rounds := scale(3, 20), scale(3, 10)
	threads := make([]string, n)
	for i := range threads {
		threads[i], _, _ = c.turn("", fmt.Sprintf("warm %d", i))
	}
	lost, dup, drops := 0, 0, 0
	for r := range rounds {
		type sent struct {
			ts, prompt string
			before     int
			ev         map[string]any
		}
		msgs := make([]sent, n)
		for i, thr := range threads {
			p := fmt.Sprintf("SLOW:20 drop round %d thread %d", r, i)
			ts := fakeslack.UserTS()
			ev := fakeslack.MessageEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: user, Text: p, TS: ts, ThreadTS: thr})
			msgs[i] = sent{ts: ts, prompt: p, before: len(c.botTexts(thr)), ev: ev}
			c.inject(ev)
		}
		conns := fake.Connects()
		fake.DropSockets()
		drops++
		if !fake.WaitConnected(conns+1, wait) {
			t.Fatalf("round %d: the bridge did not reconnect", r)
		}
		for _, m := range msgs {
			m.ev["retry_attempt"] = 1
			if _, err := fake.Inject(fakeslack.Envelope{Type: "events_api", Payload: m.ev, RetryAttempt: 1, RetryReason: "timeout"}); err != nil {
				t.Fatal(err)
			}
		}
		for i, m := range msgs {
			mark := c.marker(m.ts)
			texts := c.botTexts(threads[i])[m.before:]
			if mark != "white_check_mark" || len(texts) != 1 || texts[0] != echo(m.prompt) {
				lost++
				t.Errorf("round %d thread %d: %s %q", r, i, mark, texts)
			}
			if s := b.eng.submits(m.ts); s != 1 {
				dup++
				t.Errorf("round %d thread %d: %d turns for one message", r, i, s)
			}
		}
	}
	b.close()
	fake.Close()
	report(t, "dropped the Socket Mode websocket %d times with %d threads in flight, every event redelivered: duplicate turns %d; lost %d", drops, n, dup, lost)
	afterDrill(t, b.home(), base)
}
