package core_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/internal/testbin"
	"github.com/hotline-dev/hotline/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) { testbin.Cleanup(); os.Exit(code) }))
}

// rec records one message's callbacks.
type rec struct {
	mu      sync.Mutex
	queued  []int
	started bool
	deltas  strings.Builder
	tools   []string
	notices []string
	res     *core.Result
	err     error
	done    chan struct{}
	approve func(core.Approval) (core.Decision, error) // nil: deny
	asked   []core.Approval
}

func newRec() *rec { return &rec{done: make(chan struct{})} }

func (r *rec) Queued(p int) { r.mu.Lock(); r.queued = append(r.queued, p); r.mu.Unlock() }
func (r *rec) Started()     { r.mu.Lock(); r.started = true; r.mu.Unlock() }
func (r *rec) Delta(t string) {
	r.mu.Lock()
	r.deltas.WriteString(t)
	r.mu.Unlock()
}
func (r *rec) ToolUse(t, s string) { r.mu.Lock(); r.tools = append(r.tools, t+":"+s); r.mu.Unlock() }
func (r *rec) Notice(t string)     { r.mu.Lock(); r.notices = append(r.notices, t); r.mu.Unlock() }
func (r *rec) Approve(ctx context.Context, a core.Approval) (core.Decision, error) {
	r.mu.Lock()
	r.asked = append(r.asked, a)
	f := r.approve
	r.mu.Unlock()
	if f == nil {
		<-ctx.Done()
		return core.Decision{}, ctx.Err()
	}
	return f(a)
}
func (r *rec) Done(res core.Result) {
	r.mu.Lock()
	r.res = &res
	r.mu.Unlock()
	close(r.done)
}
func (r *rec) Failed(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
	close(r.done)
}

// wait returns the result, failing the test on Failed or a hang.
func (r *rec) wait(t testing.TB) core.Result {
	t.Helper()
	r.waitEnd(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		t.Fatalf("turn failed: %v", r.err)
	}
	return *r.res
}

func (r *rec) waitEnd(t testing.TB) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		t.Fatal("no end of turn within 60s")
	}
}

func (r *rec) failure(t testing.TB) error {
	t.Helper()
	r.waitEnd(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		t.Fatalf("want a failure, got result %+v", *r.res)
	}
	return r.err
}

func send(t testing.TB, r *core.Router, key, text string) *rec {
	t.Helper()
	rc := newRec()
	if err := r.Submit(context.Background(), core.Inbound{Key: key, Text: text, Reply: rc}); err != nil {
		t.Fatalf("submit %q: %v", text, err)
	}
	return rc
}

func ask(t testing.TB, r *core.Router, key, text string) core.Result {
	t.Helper()
	return send(t, r, key, text).wait(t)
}

// pidOf reads the agent's pid from the status command.
func pidOf(t testing.TB, r *core.Router, key string) int {
	t.Helper()
	st, err := r.Command(context.Background(), key, core.CmdStatus)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(st, "pid ")
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimRight(strings.Fields(st[i+4:])[0], "),"))
	return n
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// a zombie is not alive: field 3 of stat is the state
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// children lists live processes whose parent is this test process.
func children(t testing.TB) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	me := os.Getpid()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[0] != "Z" && f[1] == strconv.Itoa(me) && strings.Contains(s, "(mockcli)") {
			out = append(out, pid)
		}
	}
	return out
}

func newRouter(t *testing.T, opts ...func(*core.Config)) *core.Router {
	t.Helper()
	return testenv.Router(t, opts...)
}

func testConfig(t *testing.T) core.Config { return testenv.Config(t) }
