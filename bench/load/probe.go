package load

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotline-dev/hotline/core"
)

// Quantiles of one latency distribution (nearest rank).
type Quantiles struct {
	N              int
	P50, P99, P999 time.Duration
	samples        []time.Duration
}

func (q *Quantiles) add(d time.Duration) { q.samples = append(q.samples, d) }

func (q Quantiles) done() Quantiles {
	s := slices.Clone(q.samples)
	slices.Sort(s)
	at := func(f float64) time.Duration {
		if len(s) == 0 {
			return 0
		}
		i := min(max(int(f*float64(len(s))+0.5)-1, 0), len(s)-1)
		return s[i]
	}
	return Quantiles{N: len(s), P50: at(0.50), P99: at(0.99), P999: at(0.999)}
}

// probe times each message from Submit to its first text delta: what the
// agent itself (plus core's write and read) takes before there is text.
type probe struct {
	mu    sync.Mutex
	q     Quantiles
	agent map[string]time.Duration // user message ts -> Submit to first delta
}

func newProbe() *probe { return &probe{agent: map[string]time.Duration{}} }

func (p *probe) reset() {
	p.mu.Lock()
	p.q = Quantiles{}
	clear(p.agent)
	p.mu.Unlock()
}

// agentTime is the Submit-to-first-delta time of one message.
func (p *probe) agentTime(msgID string) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.agent[msgID]
	return d, ok
}

func (p *probe) quantiles() Quantiles {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.q.done()
}

// probeEngine is the router with a Responder wrapper that records the
// probe's sample. It adds one time.Now per message and per first delta.
type probeEngine struct {
	*core.Router
	p *probe
}

func (e *probeEngine) Submit(ctx context.Context, in core.Inbound) error {
	in.Reply = &probeResponder{Responder: in.Reply, p: e.p, t0: time.Now(), id: in.MessageID}
	return e.Router.Submit(ctx, in)
}

type probeResponder struct {
	core.Responder
	p    *probe
	t0   time.Time
	id   string
	seen bool // Delta calls for one message never overlap (core.Responder)
}

func (r *probeResponder) Delta(text string) {
	if !r.seen {
		r.seen = true
		d := time.Since(r.t0)
		r.p.mu.Lock()
		r.p.q.add(d)
		r.p.agent[r.id] = d
		r.p.mu.Unlock()
	}
	r.Responder.Delta(text)
}

// childRSS sums VmRSS over this process's live mockcli children.
func childRSS() (int64, int) {
	ents, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	var total int64
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil || !strings.Contains(string(st), "(mockcli)") {
			continue
		}
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		if len(f) < 2 || f[1] != me {
			continue
		}
		total += vmRSS("/proc/" + e.Name() + "/status")
		n++
	}
	return total, n
}

func vmRSS(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			if f := strings.Fields(l); len(f) > 1 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
