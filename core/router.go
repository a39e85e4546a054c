package core

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/proc"
	"github.com/hotline-dev/hotline/sessionstore"
	"github.com/hotline-dev/hotline/waf"
)

// Agent is what a session needs of a running agent CLI; *proc.Process is one.
type Agent interface {
	PID() int
	SessionID() string
	Turn(ctx context.Context, msg proc.UserMessage, h func(*proc.Event)) (*proc.Result, error)
	Interrupt(ctx context.Context) error
	Stop(ctx context.Context) error
	Kill()
	Done() <-chan struct{}
}

// Spawn describes the agent a session wants.
type Spawn struct {
	Key       string
	SessionID string
	Resume    bool
	Control   proc.ControlHandler
}

// SpawnFunc starts an agent. ProcSpawner builds one over proc.Start.
type SpawnFunc func(ctx context.Context, s Spawn) (Agent, error)

// Store keeps session records across evictions and restarts.
type Store interface {
	Get(ctx context.Context, key string) (sessionstore.Record, error)
	Put(ctx context.Context, rec sessionstore.Record) error
}

// Firewall judges the tool calls an agent wants to make and, when the
// operator asks for it, the users' prompts.
type Firewall interface {
	CheckTool(scope, tool string, input json.RawMessage) waf.Verdict
	CheckPrompt(scope, text string) waf.Verdict
}

// Config configures a Router. Zero durations and sizes take the defaults.
type Config struct {
	Spawn           SpawnFunc // required
	Store           Store     // nil: records live only in memory
	Firewall        Firewall  // nil: every tool call goes to the CLI's own permission flow
	Observer        Observer  // nil: no metrics
	Agent           string    // agent kind, recorded in session records
	Instance        string    // this bridge's id, recorded as the owner of warm sessions
	QueueDepth      int       // messages waiting per session (default 16)
	MaxSessions     int       // warm agents at once (default 100)
	IdleTimeout     time.Duration
	TurnTimeout     time.Duration
	ApprovalTimeout time.Duration
	StopGrace       time.Duration // how long an interrupt may take before the agent is killed (default 5s)
	Log             logrus.FieldLogger
}

func (c *Config) defaults() error {
	if c.Spawn == nil {
		return errors.New("core: Config.Spawn is required")
	}
	setInt(&c.QueueDepth, 16)
	setInt(&c.MaxSessions, 100)
	setDur(&c.IdleTimeout, 30*time.Minute)
	setDur(&c.TurnTimeout, 10*time.Minute)
	setDur(&c.ApprovalTimeout, 5*time.Minute)
	setDur(&c.StopGrace, 5*time.Second)
	if c.Store == nil {
		c.Store = newMemStore()
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	if c.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.WarnLevel)
		c.Log = l
	}
	return nil
}

func setInt(p *int, d int) {
	if *p <= 0 {
		*p = d
	}
}

func setDur(p *time.Duration, d time.Duration) {
	if *p <= 0 {
		*p = d
	}
}

// Router keeps one warm agent per session key and runs each key's messages
// one turn at a time, in arrival order.
type Router struct {
	cfg   Config
	log   logrus.FieldLogger
	slots chan struct{} // one token per warm agent (MaxSessions)
	rec   *recorder

	ctx    context.Context // ends when Close gives up waiting for turns
	cancel context.CancelFunc
	wg     sync.WaitGroup // session workers, reaper, background stops
	dog    watchdog       // turn timeouts

	mu       sync.Mutex
	sessions map[string]*session
	waiters  []chan struct{} // spawns waiting for a slot, oldest first
	closed   bool
}

// New returns a running Router; Close stops it.
func New(cfg Config) (*Router, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Router{
		cfg:      cfg,
		log:      cfg.Log,
		slots:    make(chan struct{}, cfg.MaxSessions),
		ctx:      ctx,
		cancel:   cancel,
		sessions: make(map[string]*session),
	}
	r.rec = newRecorder(cfg.Store, cfg.Log, cfg.Observer.StoreError)
	r.wg.Add(1)
	go r.reaper()
	return r, nil
}

// Submit accepts one message for its session. It returns at once; the
// message's Responder hears the rest.
func (r *Router) Submit(ctx context.Context, in Inbound) error {
	if in.Key == "" || in.Reply == nil {
		return errors.New("core: Inbound needs a Key and a Reply")
	}
	it := &item{in: in, ready: make(chan struct{}), accepted: time.Now()}
	for {
		s, err := r.session(in.Key)
		if err != nil {
			return err
		}
		pos, start, err := s.enqueue(it, r.cfg.QueueDepth)
		if errors.Is(err, errGone) {
			continue // evicted between lookup and enqueue: look up again
		}
		if err != nil {
			return err
		}
		if pos > 0 {
			in.Reply.Queued(pos)
		}
		close(it.ready)
		r.cfg.Observer.Queued(1)
		if start {
			r.serve(s, it)
		}
		return nil
	}
}

// session returns the live session for key, creating it.
func (r *Router) session(key string) (*session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	s := r.sessions[key]
	if s == nil {
		s = &session{key: key, r: r, lastUsed: time.Now()}
		r.sessions[key] = s
	}
	return s, nil
}

// Sessions reports how many sessions have a warm agent.
func (r *Router) Sessions() int {
	return len(r.slots)
}

// Known reports whether key has a session, warm or in the store. An error
// means the store could not answer: the key may or may not be known.
func (r *Router) Known(ctx context.Context, key string) (bool, error) {
	r.mu.Lock()
	_, ok := r.sessions[key]
	r.mu.Unlock()
	if ok {
		return true, nil
	}
	rec, err := r.cfg.Store.Get(ctx, key)
	switch {
	case errors.Is(err, sessionstore.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return rec.State != sessionstore.StateReset, nil
}

// Close stops taking messages, lets running turns finish until ctx ends,
// then interrupts them, tells waiting messages to resend, and stops every
// agent. It returns when no agent and no goroutine of the Router is left.
func (r *Router) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	all := make([]*session, 0, len(r.sessions))
	for _, s := range r.sessions {
		all = append(all, s)
	}
	r.mu.Unlock()

	for _, s := range all {
		s.dropQueued(ErrClosed)
	}
	done := make(chan struct{})
	go func() { waitIdle(all); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		for _, s := range all {
			s.interrupt(errShutdown)
		}
		<-done
	}
	r.stopAll(all)
	r.cancel()
	r.wg.Wait()
	r.dog.close()
	r.rec.close()
	return nil
}

func waitIdle(all []*session) {
	for _, s := range all {
		s.waitIdle()
	}
}

// stopAll stops every agent gracefully, a few at a time.
func (r *Router) stopAll(all []*session) {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, s := range all {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.stopAgent(sessionstore.StateIdle)
		}()
	}
	wg.Wait()
}
