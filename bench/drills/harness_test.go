package drills

import (
	"context"
	"fmt"
	"github.com/hotline-dev/hotline/internal/testenv"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hotline-dev/hotline/adapters/slack"
	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
	"github.com/hotline-dev/hotline/bench/load"
	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/internal/testbin"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { testbin.Cleanup() }))
}

const (
	channel = "C0DRILL"
	user    = "U0DRILL"
	wait    = 3 * time.Minute // guard against hangs only
)

// full reports whether the drills run at full size (make drills).
func full() bool { return os.Getenv("HOTLINE_DRILL_SCALE") == "full" }

// scale picks the CI or the full size.
func scale(ci, fullSize int) int {
	if full() {
		return fullSize
	}
	return ci
}

// countEngine is the router plus a count of Submits per platform message,
// so a drill can prove no message started two turns.
type countEngine struct {
	*core.Router
	mu     sync.Mutex
	submit map[string]int
}

func (e *countEngine) Submit(ctx context.Context, in core.Inbound) error {
	e.mu.Lock()
	e.submit[in.MessageID]++
	e.mu.Unlock()
	return e.Router.Submit(ctx, in)
}

func (e *countEngine) submits(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.submit[id]
}

// bridge is the Slack adapter and a router over mockcli, in process.
type bridge struct {
	t      *testing.T
	fake   *fakeslack.Server
	eng    *countEngine
	a      *slack.Adapter
	cancel context.CancelFunc
	done   chan struct{}
	dir    string
	closed bool
}

// startBridge runs a bridge against fake; mut changes the core config.
func startBridge(t *testing.T, fake *fakeslack.Server, mut func(*core.Config)) *bridge {
	t.Helper()
	dir := t.TempDir()
	r, err := load.Router(testbin.MockCLI(t), dir, 1000, mut)
	if err != nil {
		t.Fatal(err)
	}
	eng := &countEngine{Router: r, submit: map[string]int{}}
	a, err := slack.New(slack.Config{BotToken: "xoxb-drill", AppToken: "xapp-drill", APIURL: fake.APIURL(),
		EditInterval: 50 * time.Millisecond}, eng, load.Discard())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &bridge{t: t, fake: fake, eng: eng, a: a, cancel: cancel, done: make(chan struct{}), dir: dir}
	go func() { defer close(b.done); _ = a.Run(ctx) }()
	t.Cleanup(b.close)
	if !fake.WaitUntil(func() bool { return a.Ready() == nil }, wait) {
		t.Fatalf("adapter not ready: %v", a.Ready())
	}
	return b
}

// close stops the adapter, then the router (every agent).
func (b *bridge) close() {
	if b.closed {
		return
	}
	b.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.eng.Router.Close(ctx); err != nil {
		b.t.Errorf("router close: %v", err)
	}
	b.cancel()
	<-b.done
}

// home is where this bridge's agents run (their HOME).
func (b *bridge) home() string { return b.dir + "/home" }

// client sends users' messages through the fake and reads the outcome.
type client struct {
	t    *testing.T
	fake *fakeslack.Server
}

func (c client) inject(ev map[string]any) {
	c.t.Helper()
	if _, err := c.fake.Inject(fakeslack.Envelope{Type: "events_api", Payload: ev}); err != nil {
		c.t.Fatalf("inject: %v", err)
	}
}

// open starts a thread with a mention (both events, as Slack sends them)
// and returns its ts.
func (c client) open(text string) string {
	ts := fakeslack.UserTS()
	m := fakeslack.Msg{Channel: channel, User: user, Text: "<@" + fakeslack.BotUserID + "> " + text, TS: ts}
	c.inject(fakeslack.MentionEvent(fakeslack.EventID(), m))
	c.inject(fakeslack.MessageEvent(fakeslack.EventID(), m))
	return ts
}

// say posts text in thread and returns the message's ts.
func (c client) say(thread, text string) string {
	ts := fakeslack.UserTS()
	c.inject(fakeslack.MessageEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: user, Text: text, TS: ts, ThreadTS: thread}))
	return ts
}

// botTexts is the text of the bot's messages in thread, in post order.
func (c client) botTexts(thread string) []string {
	var out []string
	for _, m := range c.fake.Messages(channel) {
		if m.ThreadTS == thread {
			out = append(out, m.Text)
		}
	}
	return out
}

// marker waits for the final reaction (done or error) on message ts.
func (c client) marker(ts string) string {
	c.t.Helper()
	m := c.markerWithin(ts, wait)
	if m == "" {
		c.t.Fatalf("message %s got no final marker; reactions %v", ts, c.fake.Reactions(channel, ts))
	}
	return m
}

// markerWithin is marker that returns "" after d.
func (c client) markerWithin(ts string, d time.Duration) string {
	var got string
	c.fake.WaitUntil(func() bool {
		for _, r := range c.fake.Reactions(channel, ts) {
			if r == "white_check_mark" || r == "x" {
				got = r
				return true
			}
		}
		return false
	}, d)
	return got
}

// turn sends text in thread (opening it when thread is "") and waits for
// its end. It returns the thread, the bot messages the turn added and the
// final marker.
func (c client) turn(thread, text string) (string, []string, string) {
	c.t.Helper()
	before := 0
	var ts string
	if thread == "" {
		ts = c.open(text)
		thread = ts
	} else {
		before = len(c.botTexts(thread))
		ts = c.say(thread, text)
	}
	m := c.marker(ts)
	return thread, c.botTexts(thread)[before:], m
}

// echo is mockcli's reply to an ordinary prompt.
func echo(prompt string) string { return "ECHO: " + prompt }

// agents lists live mockcli processes whose HOME is home.
func agents(home string) []int { return testenv.Agents(home) }

// afterDrill is drill 7: no agent of home outlives the bridge, and no
// goroutine outlives the drill (beyond those running before it).
func afterDrill(t *testing.T, home string, baseline goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(agents(home)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := agents(home); len(left) > 0 {
		t.Errorf("orphan agent processes: %v", left)
	}
	if err := goleak.Find(baseline); err != nil {
		t.Errorf("leaked goroutines: %v", err)
	}
}

// report prints the drill's one line.
func report(t *testing.T, format string, args ...any) {
	line := fmt.Sprintf(t.Name()+": "+format, args...)
	fmt.Println(line)
}
