// Package slack is hotline's Slack adapter: Socket Mode and the HTTP Events
// API in, streamed thread replies, reactions, slash commands and approval
// buttons out, all through github.com/slack-go/slack.
//
// Conversations: a mention (or a DM, or a top-level message in a listen
// channel) starts a conversation in its thread. Later messages in that
// thread continue it without a mention. The adapter remembers conversation
// threads in a bounded LRU, filled when a conversation starts and whenever
// the bot posts in a thread; past that memory (eviction, restart) it asks
// the engine, if the engine implements Known(ctx, key) bool.
package slack

import (
	"context"
	"errors"
	"fmt"
	"github.com/hotline-dev/hotline/adapters/apimetrics"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/hotline-dev/hotline/adapters/reply"
	"github.com/hotline-dev/hotline/core"
)

// Engine is what the adapter needs from the core (core.Router implements it).
type Engine interface {
	Submit(ctx context.Context, in core.Inbound) error
	Command(ctx context.Context, key string, cmd core.Cmd) (string, error)
}

// knower is optionally implemented by the Engine: whether the session store
// knows a conversation, so threads survive the adapter's memory. An error
// means the store could not tell.
type knower interface {
	Known(ctx context.Context, key string) (bool, error)
}

const (
	queueDepth   = 1024             // events waiting for the dispatcher
	poolSize     = 16               // concurrent side jobs (refusals, commands, clicks)
	maxThreads   = 20000            // remembered conversation threads
	dedupeTTL    = 15 * time.Minute // DESIGN: at least 10 minutes
	dedupeMax    = 200000
	apiTimeout   = 30 * time.Second
	finishBudget = 3 * time.Minute // a final reply may wait out several rate limits
	textLimit    = 3000            // Slack section blocks hold 3000 characters
)

// Adapter connects one Slack app to the engine.
type Adapter struct {
	cfg       Config
	eng       Engine
	log       logrus.FieldLogger
	api       *slack.Client
	transport *http.Transport
	files     *http.Client  // file downloads; each request carries its own deadline
	downloads chan struct{} // one slot per download in flight

	dedupe    *reply.Dedupe
	threads   *lru[struct{}] // conversation thread keys
	recent    *lru[string]   // team:channel -> most recent conversation key
	refused   *lru[struct{}] // user+channel already told they may not use the bot
	approvals *approvals
	order     *threadOrder // per-thread order around file downloads

	jobs chan func(context.Context) // ordered: message dispatch
	side chan func(context.Context) // unordered: network side jobs

	mu      sync.Mutex
	botUser string
	botID   string
	team    string
	authErr error
	sockErr error
	running bool
	// workCtx carries Web API calls for work already accepted. It is not
	// Run's ctx: turns that finish during shutdown must still post their
	// replies. Every call under it has its own timeout.
	workCtx context.Context
}

// New validates cfg and builds an adapter; Run connects it.
func New(cfg Config, eng Engine, log logrus.FieldLogger) (*Adapter, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if eng == nil {
		return nil, errors.New("slack adapter: engine is nil")
	}
	if log == nil {
		log = logrus.StandardLogger()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Every call goes to one host; the default of two idle connections
	// makes concurrent replies, edits and reactions redial.
	tr.MaxIdleConnsPerHost = poolSize
	opts := []slack.Option{slack.OptionAPIURL(cfg.APIURL),
		slack.OptionHTTPClient(&http.Client{Transport: apimetrics.Transport(tr, apimetrics.LastSegment, cfg.APICalls), Timeout: apiTimeout})}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	a := &Adapter{
		cfg: cfg, eng: eng, log: log.WithField("platform", "slack"),
		api: slack.New(cfg.BotToken, opts...), transport: tr, files: &http.Client{Transport: tr},
		dedupe:    reply.NewDedupe(dedupeTTL, dedupeMax),
		threads:   newLRU[struct{}](maxThreads),
		recent:    newLRU[string](maxThreads),
		refused:   newLRU[struct{}](maxThreads),
		approvals: newApprovals(),
		order:     newThreadOrder(),
		downloads: make(chan struct{}, maxDownloads),
		jobs:      make(chan func(context.Context), queueDepth),
		side:      make(chan func(context.Context), queueDepth),
		authErr:   errors.New("slack: not connected yet"),
		workCtx:   context.Background(),
	}
	return a, nil
}

// Name is the adapter's platform name.
func (a *Adapter) Name() string { return "slack" }

// Ready is nil when the bot token works and, in Socket Mode, the websocket is up.
func (a *Adapter) Ready() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.authErr != nil {
		return a.authErr
	}
	return a.sockErr
}

func (a *Adapter) setState(auth, sock error) {
	a.mu.Lock()
	a.authErr, a.sockErr = auth, sock
	a.mu.Unlock()
}

func (a *Adapter) identity() (botUser, botID, team string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.botUser, a.botID, a.team
}

// Run connects and serves until ctx ends; it reconnects by itself and
// returns nil when ctx ends.
func (a *Adapter) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return errors.New("slack adapter: Run called twice")
	}
	a.running = true
	a.mu.Unlock()
	defer a.transport.CloseIdleConnections()

	if err := a.authenticate(ctx); err != nil {
		return nil // only ctx ending stops authenticate
	}
	var wg sync.WaitGroup
	wg.Go(func() { a.dispatchLoop(ctx) })
	for range poolSize {
		wg.Go(func() { a.sideLoop(ctx) })
	}
	if a.cfg.AppToken != "" {
		a.runSocket(ctx)
	} else {
		<-ctx.Done()
	}
	wg.Wait()
	a.order.wait()
	a.setState(errors.New("slack: stopped"), nil)
	return nil
}

// authenticate calls auth.test until it succeeds or ctx ends.
func (a *Adapter) authenticate(ctx context.Context) error {
	delay := time.Second
	for {
		res, err := a.api.AuthTestContext(ctx)
		if err == nil {
			a.mu.Lock()
			a.botUser, a.botID, a.team = res.UserID, res.BotID, res.TeamID
			a.mu.Unlock()
			var sockErr error
			if a.cfg.AppToken != "" {
				sockErr = errors.New("slack: socket mode not connected yet")
			}
			a.setState(nil, sockErr)
			a.log.WithFields(logrus.Fields{"bot_user": res.UserID, "team": res.TeamID}).Info("slack: authenticated")
			return nil
		}
		a.setState(fmt.Errorf("slack: auth.test failed (check SLACK_BOT_TOKEN and SLACK_API_URL): %w", err), nil)
		a.log.WithError(err).Warn("slack: auth.test failed; retrying")
		if !sleepCtx(ctx, delay) {
			return ctx.Err()
		}
		delay = min(delay*2, time.Minute)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// runSocket keeps a Socket Mode connection up until ctx ends.
func (a *Adapter) runSocket(ctx context.Context) {
	dialer := &websocket.Dialer{NetDialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		HandshakeTimeout: 10 * time.Second, Proxy: http.ProxyFromEnvironment, WriteBufferSize: 32 << 10}
	sm := socketmode.New(a.api, socketmode.OptionDialer(dialer), socketmode.OptionLog(discardLogger{}))
	var wg sync.WaitGroup
	wg.Go(func() { a.readEvents(ctx, sm) })
	delay := time.Second
	for ctx.Err() == nil {
		err := sm.RunContext(ctx)
		if ctx.Err() != nil {
			break
		}
		// RunContext only returns on fatal errors (bad app token); keep
		// trying slowly so fixing the token needs no restart.
		a.setState(nil, fmt.Errorf("slack: socket mode failed (check SLACK_APP_TOKEN): %w", err))
		a.log.WithError(err).Error("slack: socket mode stopped; retrying")
		if !sleepCtx(ctx, delay) {
			break
		}
		delay = min(delay*2, time.Minute)
	}
	wg.Wait()
}

type discardLogger struct{}

func (discardLogger) Output(int, string) error { return nil }

// enqueue hands f to the ordered dispatcher, waiting while it is full.
func (a *Adapter) enqueue(ctx context.Context, f func(context.Context)) bool {
	select {
	case a.jobs <- f:
		return true
	case <-ctx.Done():
		return false
	}
}

// tryEnqueue is enqueue without waiting (HTTP: a 503 makes Slack retry).
func (a *Adapter) tryEnqueue(f func(context.Context)) bool {
	select {
	case a.jobs <- f:
		return true
	default:
		return false
	}
}

// goSide runs f on the side pool; when the pool is saturated the job is
// dropped with a warning rather than stalling the read loop.
func (a *Adapter) goSide(f func(context.Context)) {
	select {
	case a.side <- f:
	default:
		a.log.Warn("slack: side job queue full; dropping a refusal or notice")
	}
}

func (a *Adapter) dispatchLoop(ctx context.Context) {
	for {
		select {
		case f := <-a.jobs:
			f(ctx)
		case <-ctx.Done():
			return
		}
	}
}

func (a *Adapter) sideLoop(ctx context.Context) {
	for {
		select {
		case f := <-a.side:
			f(a.workCtx)
		case <-ctx.Done():
			return
		}
	}
}

// apiCtx bounds one Web API call made on behalf of work in flight.
func (a *Adapter) apiCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(a.workCtx, apiTimeout)
}
