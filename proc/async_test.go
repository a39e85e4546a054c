package proc

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

type ended struct {
	res *Result
	err error
}

func waitEnd(t *testing.T, ch <-chan ended) ended {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(guard):
		t.Fatal("turn never ended")
		return ended{}
	}
}

// A chain of turns, each started from the previous one's end on the
// reader goroutine, runs in order on one process.
func TestTurnAsyncChainsFromEnd(t *testing.T) {
	p := startMock(t, mockConfig(t))
	const n = 50
	got := make(chan string, n)
	fail := make(chan error, 1)
	var next func(i int)
	next = func(i int) {
		err := p.TurnAsync(context.Background(), UserMessage{Text: fmt.Sprint("m", i)}, nil, func(res *Result, err error) {
			if err != nil {
				fail <- err
				return
			}
			got <- res.Text
			if i+1 < n {
				next(i + 1)
			}
		})
		if err != nil {
			fail <- err
		}
	}
	next(0)
	for i := range n {
		select {
		case text := <-got:
			if want := fmt.Sprint("ECHO: m", i); text != want {
				t.Fatalf("turn %d: %q, want %q", i, text, want)
			}
		case err := <-fail:
			t.Fatalf("turn %d: %v", i, err)
		case <-time.After(guard):
			t.Fatalf("turn %d never ended", i)
		}
	}
}

func TestTurnAsyncBusyAndEvents(t *testing.T) {
	p := startMock(t, mockConfig(t))
	var c collect
	ch := make(chan ended, 1)
	end := func(res *Result, err error) { ch <- ended{res, err} }
	if err := p.TurnAsync(guardCtx(t), UserMessage{Text: "STREAM:5:10"}, c.h, end); err != nil {
		t.Fatal(err)
	}
	if err := p.TurnAsync(guardCtx(t), UserMessage{Text: "second"}, nil, end); !errors.Is(err, ErrBusy) {
		t.Fatalf("second turn while busy: %v", err)
	}
	if _, err := p.Turn(guardCtx(t), UserMessage{Text: "third"}, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("blocking turn while busy: %v", err)
	}
	e := waitEnd(t, ch)
	if e.err != nil || e.res.Text != c.deltas.String() || len(c.of(EventResult)) != 1 {
		t.Fatalf("end %+v %v, deltas %q", e.res, e.err, c.deltas.String())
	}
	select {
	case e := <-ch:
		t.Fatalf("end called twice: %+v", e)
	default:
	}
}

func TestTurnAsyncCrash(t *testing.T) {
	p := startMock(t, mockConfig(t))
	ch := make(chan ended, 2)
	if err := p.TurnAsync(guardCtx(t), UserMessage{Text: "CRASH"}, nil, func(res *Result, err error) { ch <- ended{res, err} }); err != nil {
		t.Fatal(err)
	}
	if e := waitEnd(t, ch); !errors.Is(e.err, ErrExited) || e.res != nil {
		t.Fatalf("crash: %+v %v", e.res, e.err)
	}
	waitDone(t, p)
	err := p.TurnAsync(guardCtx(t), UserMessage{Text: "again"}, nil, func(*Result, error) { t.Error("end called for a turn that did not start") })
	if !errors.Is(err, ErrExited) {
		t.Fatalf("turn after crash: %v", err)
	}
}

// An ended ctx ends the turn at once; the process keeps the abandoned turn
// until its result, then takes the next.
func TestTurnAsyncCancel(t *testing.T) {
	p := startMock(t, mockConfig(t))
	ctx, cancel := context.WithCancel(guardCtx(t))
	ch := make(chan ended, 2)
	end := func(res *Result, err error) { ch <- ended{res, err} }
	if err := p.TurnAsync(ctx, UserMessage{Text: "SLOW:300 slow"}, nil, end); err != nil {
		t.Fatal(err)
	}
	cancel()
	if e := waitEnd(t, ch); !errors.Is(e.err, context.Canceled) {
		t.Fatalf("cancelled turn: %+v %v", e.res, e.err)
	}
	if err := p.TurnAsync(guardCtx(t), UserMessage{Text: "too soon"}, nil, end); !errors.Is(err, ErrBusy) {
		t.Fatalf("turn while the abandoned one runs: %v", err)
	}
	res, err := p.Turn(guardCtx(t), UserMessage{Text: "next"}, nil)
	if err != nil || res.Text != "ECHO: next" {
		t.Fatalf("next turn: %+v %v", res, err)
	}
}
