package core

import "time"

// Observer receives the router's measurements (metrics live outside core).
type Observer interface {
	Queued(delta int)                         // messages waiting, +1 accepted, -1 started or dropped
	TurnDone(outcome string, d time.Duration) // ok, api_error, stopped, interrupted, crash, error, spawn_error
	FirstToken(d time.Duration)               // acceptance to first text delta
	Spawned(resume bool)
	Evicted()
	Verdict(action, rule string)
	Approval(outcome string) // approved, denied, timeout, withdrawn
	StoreError()
}

type nopObserver struct{}

func (nopObserver) Queued(int)                     {}
func (nopObserver) TurnDone(string, time.Duration) {}
func (nopObserver) FirstToken(time.Duration)       {}
func (nopObserver) Spawned(bool)                   {}
func (nopObserver) Evicted()                       {}
func (nopObserver) Verdict(string, string)         {}
func (nopObserver) Approval(string)                {}
func (nopObserver) StoreError()                    {}
