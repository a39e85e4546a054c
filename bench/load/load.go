package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotline-dev/hotline/adapters/slack"
	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
	"github.com/hotline-dev/hotline/core"
)

// Config is one load run.
type Config struct {
	Platform     string        // "slack" (default) or "discord"
	MockCLI      string        // mockcli binary
	Threads      int           // concurrent conversation threads
	Messages     int           // measured messages per thread, after one warm-up turn each
	Prompt       string        // prompt prefix, e.g. "STREAM:8:25" (see mockcli/README.md)
	EditInterval time.Duration // SLACK_EDIT_INTERVAL
	Timeout      time.Duration // guard for one message (against hangs only)
	// Rate, when positive, paces the measured messages at this many per
	// second in total (open loop); zero runs every thread as a closed loop.
	Rate float64
}

// Result is what one run measured. Latencies are from the fake's receive
// times of the events' replies; Lost counts messages without a correct reply.
type Result struct {
	Platform          string
	Threads, Messages int
	Rate              float64 // offered messages/s; 0: closed loops
	Sent, Answered    int
	Lost, Wrong       int
	Elapsed           time.Duration
	MsgsPerSec        float64
	FirstPost         Quantiles // event written to the websocket -> first chat.postMessage of its reply
	FinalEdit         Quantiles // event -> last post/edit of its reply
	AgentFirst        Quantiles // Submit -> the agent's first text delta (the agent's own time plus core)
	Overhead          Quantiles // per message: FirstPost minus its AgentFirst (what the bridge adds)
	EditsPerMsg       float64
	HeapBytes         uint64 // Go heap in use with all threads warm (bridge + fake + generator, one process)
	Goroutines        int
	AgentRSS          int64 // summed VmRSS of the live agent processes
	Agents            int
}

// Run starts a fake Slack, the Slack adapter and a router, warms every
// thread with one turn, then sends cfg.Messages more per thread, each
// thread a closed loop, all threads at once.
func Run(ctx context.Context, cfg Config) (Result, error) {
	switch cfg.Platform {
	case "", "slack":
		return runSlack(ctx, cfg)
	case "discord":
		return runDiscord(ctx, cfg)
	}
	return Result{}, fmt.Errorf("load: unknown platform %q (slack or discord)", cfg.Platform)
}

func (cfg *Config) defaults() error {
	if cfg.Threads <= 0 || cfg.Messages <= 0 {
		return errors.New("load: Threads and Messages must be positive")
	}
	if cfg.Prompt == "" {
		cfg.Prompt = "STREAM:8:25"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	return nil
}

// setup applies cfg's defaults and starts the router over mockcli agents in
// a temporary directory; done closes the router and removes the directory.
func setup(cfg *Config) (*probe, *core.Router, func() error, error) {
	if err := cfg.defaults(); err != nil {
		return nil, nil, nil, err
	}
	dir, err := os.MkdirTemp("", "hotline-load-")
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := Router(cfg.MockCLI, dir, cfg.Threads+1, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	done := func() error {
		err := closeRouter(r)
		os.RemoveAll(dir)
		return err
	}
	return newProbe(), r, done, nil
}

// poll calls scan every 2 ms until ctx ends, and once more after.
func poll(ctx context.Context, scan func()) {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		scan()
		select {
		case <-ctx.Done():
			scan()
			return
		case <-t.C:
		}
	}
}

func runSlack(ctx context.Context, cfg Config) (res Result, err error) {
	probe, r, done, err := setup(&cfg)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, done()) }()
	fake := fakeslack.New(fakeslack.Options{})
	defer fake.Close()
	eng := &probeEngine{Router: r, p: probe}
	a, err := slack.New(slack.Config{BotToken: "xoxb-load", AppToken: "xapp-load", APIURL: fake.APIURL(),
		EditInterval: cfg.EditInterval}, eng, Discard())
	if err != nil {
		return res, err
	}
	actx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Go(func() { _ = a.Run(actx) })
	if !fake.WaitUntil(func() bool { return a.Ready() == nil }, 30*time.Second) {
		return res, fmt.Errorf("load: slack adapter not ready: %v", a.Ready())
	}
	w := newWatcher(fake)
	wctx, wstop := context.WithCancel(context.Background())
	var wwg sync.WaitGroup
	wwg.Go(func() { w.run(wctx) })
	defer wwg.Wait()
	defer wstop()

	g := &gen{cfg: cfg, fake: fake, w: w, wants: make([][]string, cfg.Threads), threads: make([]string, cfg.Threads)}
	g.sendFn = g.send
	err = g.warmAndMeasure(ctx, "slack", probe, g.verify, &res)
	return res, err
}

// warmAndMeasure starts every thread's agent with one message, then runs
// the measured messages and fills res; verify counts replies whose final
// text is wrong (each platform's fake keeps messages its own way).
func (g *gen) warmAndMeasure(ctx context.Context, platform string, pr *probe, verify func() int, res *Result) error {
	if err := g.round(ctx, -1); err != nil {
		return err
	}
	pr.reset()
	t0 := time.Now()
	all, err := g.measure(ctx)
	res.Elapsed = time.Since(t0)
	if err != nil {
		return err
	}
	measureProcess(res)
	summarise(res, platform, g.cfg, all, pr)
	res.Wrong = verify()
	return nil
}

// gen sends the messages.
type gen struct {
	cfg     Config
	fake    *fakeslack.Server
	w       *watcher
	threads []string   // thread ts per thread index
	wants   [][]string // expected reply texts per thread, in order
	mu      sync.Mutex
	// sendFn injects message m of thread t (m < 0: the opening message)
	// on the platform under test.
	sendFn func(t, m int) (*pending, error)
}

const channel = "C0LOAD"

func (g *gen) prompt(t, m int) string {
	return g.cfg.Prompt + " t" + strconv.Itoa(t) + "m" + strconv.Itoa(m)
}

// want is mockcli's reply to prompt (see mockcli/README.md).
func want(prompt string) string {
	f := strings.Fields(prompt)
	if strings.HasPrefix(f[0], "STREAM:") {
		n, _ := strconv.Atoi(strings.Split(f[0], ":")[1])
		toks := make([]string, n)
		for i := range toks {
			toks[i] = "tok" + strconv.Itoa(i+1)
		}
		return strings.Join(toks, " ")
	}
	return "ECHO: " + prompt
}

// send injects message m of thread t (m < 0: the opening mention) and
// returns its pending record.
func (g *gen) send(t, m int) (*pending, error) {
	text := g.prompt(t, m)
	ts := fakeslack.UserTS()
	thread := ts
	if m >= 0 {
		thread = g.threads[t]
	}
	p := &pending{thread: thread, userTS: ts, want: want(text), done: make(chan struct{})}
	g.w.expect(p)
	msg := fakeslack.Msg{Channel: channel, User: "U0LOAD", Text: text, TS: ts}
	if m < 0 {
		g.mu.Lock()
		g.threads[t] = ts
		g.mu.Unlock()
		msg.Text = "<@" + fakeslack.BotUserID + "> " + text
	} else {
		msg.ThreadTS = thread
	}
	p.sent = time.Now()
	var events []map[string]any
	if m < 0 {
		events = append(events, fakeslack.MentionEvent(fakeslack.EventID(), msg))
	}
	events = append(events, fakeslack.MessageEvent(fakeslack.EventID(), msg))
	for _, ev := range events {
		if _, err := g.fake.Inject(fakeslack.Envelope{Type: "events_api", Payload: ev}); err != nil {
			return nil, err
		}
	}
	g.mu.Lock()
	g.wants[t] = append(g.wants[t], p.want)
	g.mu.Unlock()
	return p, nil
}

// round sends message m of every thread at once and waits for all replies.
func (g *gen) round(ctx context.Context, m int) error {
	var wg sync.WaitGroup
	errs := make([]error, g.cfg.Threads)
	for t := range g.cfg.Threads {
		wg.Go(func() {
			p, err := g.sendFn(t, m)
			if err == nil {
				err = g.wait(ctx, p)
			}
			errs[t] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// measure runs the measured phase, paced or as closed loops.
func (g *gen) measure(ctx context.Context) ([]*pending, error) {
	if g.cfg.Rate > 0 {
		return g.measuredPaced(ctx)
	}
	return g.measured(ctx)
}

// measured runs every thread's closed loop of cfg.Messages messages.
func (g *gen) measured(ctx context.Context) ([]*pending, error) {
	out := make([][]*pending, g.cfg.Threads)
	errs := make([]error, g.cfg.Threads)
	var wg sync.WaitGroup
	for t := range g.cfg.Threads {
		wg.Go(func() {
			for m := range g.cfg.Messages {
				p, err := g.sendFn(t, m)
				if err == nil {
					err = g.wait(ctx, p)
				}
				if err != nil {
					errs[t] = err
					return
				}
				out[t] = append(out[t], p)
			}
		})
	}
	wg.Wait()
	var all []*pending
	for _, ps := range out {
		all = append(all, ps...)
	}
	return all, errors.Join(errs...)
}

func (g *gen) wait(ctx context.Context, p *pending) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(g.cfg.Timeout):
		return fmt.Errorf("load: no finished reply to %s in thread %s within %s", p.userTS, p.thread, g.cfg.Timeout)
	}
}

// verify compares each thread's bot messages with the agent's replies, in
// order, and counts the threads that differ.
func (g *gen) verify() int {
	got := map[string][]string{}
	for _, m := range g.fake.Messages(channel) {
		got[m.ThreadTS] = append(got[m.ThreadTS], m.Text)
	}
	wrong := 0
	for t, thr := range g.threads {
		if strings.Join(got[thr], "\x00") != strings.Join(g.wants[t], "\x00") {
			wrong++
		}
	}
	return wrong
}

func summarise(res *Result, platform string, cfg Config, all []*pending, pr *probe) {
	res.Platform, res.Threads, res.Messages, res.Rate = platform, cfg.Threads, cfg.Messages, cfg.Rate
	res.Sent = cfg.Threads * cfg.Messages
	var first, final, over Quantiles
	edits := 0
	for _, p := range all {
		if p.firstPost.IsZero() {
			continue
		}
		res.Answered++
		first.add(p.firstPost.Sub(p.sent))
		final.add(p.lastEdit.Sub(p.sent))
		if d, ok := pr.agentTime(p.userTS); ok {
			over.add(p.firstPost.Sub(p.sent) - d)
		}
		edits += p.edits
	}
	res.Lost = res.Sent - res.Answered
	res.FirstPost, res.FinalEdit, res.Overhead = first.done(), final.done(), over.done()
	res.AgentFirst = pr.quantiles()
	if res.Answered > 0 {
		res.EditsPerMsg = float64(edits) / float64(res.Answered)
	}
	res.MsgsPerSec = float64(res.Answered) / res.Elapsed.Seconds()
}

// measureProcess records heap, goroutines and the agents' memory while
// every thread is still warm.
func measureProcess(res *Result) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapBytes, res.Goroutines = ms.HeapInuse, runtime.NumGoroutine()
	res.AgentRSS, res.Agents = childRSS()
}
