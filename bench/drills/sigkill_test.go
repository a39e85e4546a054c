package drills

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
	"github.com/hotline-dev/hotline/bench/load"
	"github.com/hotline-dev/hotline/sessionstore"
)

// interruptedNotice is what a thread must see for a message whose turn a
// crashed bridge could not finish.
const interruptedNotice = "please send it again"

// TestDrillSIGKILLBridge is drill 1: the real bridge binary is SIGKILLed
// while turns stream, then started again on the same data directory, HOME
// and working directory. Every thread must continue its conversation
// (mockcli HISTORY shows the turns before the crash), and every message in
// flight at the kill must end with its reply or an interrupted notice.
func TestDrillSIGKILLBridge(t *testing.T) {
	base := goleak.IgnoreCurrent()
	fake := fakeslack.New(fakeslack.Options{})
	data, home, work := t.TempDir(), t.TempDir(), t.TempDir()
	p := runBridge(t, fake, data, home, work)
	c := client{t: t, fake: fake}
	n := scale(3, 20)
	threads := make([]string, n)
	for i := range threads {
		var texts []string
		threads[i], texts, _ = c.turn("", fmt.Sprintf("first %d", i))
		if len(texts) != 1 || texts[0] != echo(fmt.Sprintf("first %d", i)) {
			t.Fatalf("thread %d: first reply %q", i, texts)
		}
	}
	for i, thr := range threads {
		c.say(thr, fmt.Sprintf("STREAM:60:50 inflight %d", i))
	}
	// Kill once every in-flight turn has shown text.
	fake.WaitUntil(func() bool { return fake.Count("chat.postMessage") >= 2*n }, wait)
	p.kill()
	durable := storedThreads(t, data, threads)
	p = runBridge(t, fake, data, home, work)

	// A restarted bridge has to tell each thread about the message it
	// dropped (or finish it); give it waitNotice for all of them.
	resolved := func(thr string) bool {
		all := strings.Join(c.botTexts(thr), "\n")
		return strings.Contains(all, streamReply(60)) || strings.Contains(all, interruptedNotice)
	}
	fake.WaitUntil(func() bool {
		for _, thr := range threads {
			if !resolved(thr) {
				return false
			}
		}
		return true
	}, waitNotice)
	lost, resumed := 0, 0
	for i, thr := range threads {
		if !resolved(thr) {
			lost++
			t.Logf("thread %d: in-flight message got neither its reply nor an interrupted notice: %q", i, c.botTexts(thr))
		}
		before := len(c.botTexts(thr))
		mark := c.markerWithin(c.say(thr, "HISTORY"), wait)
		texts := c.botTexts(thr)[before:]
		if mark == "white_check_mark" && len(texts) > 0 && strings.HasPrefix(texts[len(texts)-1], "HISTORY: first "+fmt.Sprint(i)) {
			resumed++
		} else {
			t.Errorf("thread %d: no resume after the crash: %s %q", i, mark, texts)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d in-flight messages lost", lost, n)
	}
	p.stop(t)
	if t.Failed() {
		t.Logf("bridge logs after the restart:\n%s", p.log())
	}
	fake.Close()
	report(t, "SIGKILLed the bridge binary with %d turns streaming, restarted it on the same store: %d of %d thread records on disk, %d of %d threads resumed; in-flight messages lost %d", n, durable, n, resumed, n, lost)
	afterDrill(t, home, base)
}

// waitNotice bounds how long a restarted bridge may take to tell the
// threads their messages were interrupted.
const waitNotice = 15 * time.Second

// storedThreads counts the threads whose session record the killed bridge
// left in its store (the bridge is down, so the file is not locked).
func storedThreads(t *testing.T, data string, threads []string) int {
	t.Helper()
	st, err := sessionstore.NewBolt(filepath.Join(data, "sessions.db"), sessionstore.Options{Log: load.Discard()})
	if err != nil {
		t.Fatalf("opening the killed bridge's store: %v", err)
	}
	defer st.Close()
	n := 0
	for i, thr := range threads {
		_, err := st.Get(context.Background(), "slack:"+fakeslack.TeamID+":"+channel+":"+thr)
		if err != nil {
			t.Errorf("thread %d: its first turn was answered but no record survived the crash: %v", i, err)
			continue
		}
		n++
	}
	return n
}
