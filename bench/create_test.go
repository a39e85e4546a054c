package bench_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/internal/testenv"
)

// answer records the one outcome of one message.
type answer struct {
	mu   sync.Mutex
	text string
	err  error
	n    int // Done/Failed calls; must end at 1
	done chan struct{}
}

type recorder struct {
	nop
	a *answer
}

func (r recorder) Done(res core.Result) { r.a.end(res.Text, nil) }
func (r recorder) Failed(err error)     { r.a.end("", err) }

func (a *answer) end(text string, err error) {
	a.mu.Lock()
	a.n++
	first := a.n == 1
	a.text, a.err = text, err
	a.mu.Unlock()
	if first {
		close(a.done)
	}
}

// createStats is the outcome of one concurrent-creation run.
type createStats struct {
	errors, wrong, doubled int
	elapsed                time.Duration
}

// createConcurrently submits first messages to n distinct keys at once,
// with the warm-agent cap at limit, and checks every message was answered
// exactly once with the agent's echo.
func createConcurrently(tb testing.TB, n, limit int) createStats {
	tb.Helper()
	r := testenv.Router(tb, func(c *core.Config) { c.MaxSessions = limit })
	answers := make([]*answer, n)
	var st createStats
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	t0 := time.Now()
	for i := range n {
		answers[i] = &answer{done: make(chan struct{})}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			in := core.Inbound{Key: "bench:w:c:create" + strconv.Itoa(i), Text: "hello " + strconv.Itoa(i), Reply: recorder{a: answers[i]}}
			if err := r.Submit(context.Background(), in); err != nil {
				mu.Lock()
				st.errors++
				mu.Unlock()
				answers[i].end("", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	guard := time.After(15 * time.Minute) // against hangs only
	for i, a := range answers {
		select {
		case <-a.done:
		case <-guard:
			tb.Fatalf("message %d of %d not answered", i, n)
		}
		a.mu.Lock()
		switch {
		case a.err != nil:
			st.errors++
		case a.text != "ECHO: hello "+strconv.Itoa(i):
			st.wrong++
		}
		if a.n != 1 {
			st.doubled++
		}
		a.mu.Unlock()
	}
	st.elapsed = time.Since(t0)
	if got := r.Sessions(); got > limit {
		tb.Errorf("%d warm agents, cap %d", got, limit)
	}
	return st
}

// BenchmarkConcurrentCreate5000 is HotPlex's "5000 concurrent session
// creations": 5000 first messages at once, at most 200 warm agents (the
// rest evicted under the cap). It fails on any error or lost message.
func BenchmarkConcurrentCreate5000(b *testing.B) {
	const n, limit = 5000, 200
	for range b.N {
		st := createConcurrently(b, n, limit)
		if st.errors+st.wrong+st.doubled != 0 {
			b.Fatalf("%d sessions: %d errors, %d wrong replies, %d answered twice", n, st.errors, st.wrong, st.doubled)
		}
		b.ReportMetric(float64(n), "sessions")
		b.ReportMetric(0, "errors")
		b.ReportMetric(float64(n)/st.elapsed.Seconds(), "sessions/s")
		b.ReportMetric(st.elapsed.Seconds(), "total-s")
	}
}

// TestConcurrentCreate is the same check at CI size; HOTLINE_CREATE_N
// raises it.
func TestConcurrentCreate(t *testing.T) {
	n, limit := 300, 20
	if v, err := strconv.Atoi(os.Getenv("HOTLINE_CREATE_N")); err == nil && v > 0 {
		n = v
	}
	st := createConcurrently(t, n, limit)
	if st.errors+st.wrong+st.doubled != 0 {
		t.Fatalf("%d sessions: %d errors, %d wrong replies, %d answered twice", n, st.errors, st.wrong, st.doubled)
	}
	fmt.Printf("concurrent create: %d sessions, cap %d, 0 lost, %s\n", n, limit, st.elapsed.Round(time.Millisecond))
}
