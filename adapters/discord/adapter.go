// Package discord bridges Discord channels, threads and DMs to the core
// engine over the gateway (discordgo), with slash commands and approval
// buttons.
package discord

import (
	"context"
	"errors"
	"github.com/hotline-dev/hotline/adapters/apimetrics"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
	"github.com/hotline-dev/hotline/adapters/reply"
	"github.com/hotline-dev/hotline/core"
	"github.com/sirupsen/logrus"
)

// Engine is what the adapter needs from the core.
type Engine interface {
	Submit(ctx context.Context, in core.Inbound) error
	Command(ctx context.Context, key string, cmd core.Cmd) (string, error)
}

// Intents the bridge needs: guild messages, DMs, and the privileged message
// content intent (without it, messages that do not mention the bot arrive
// with empty content).
const Intents = discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages | discordgo.IntentsMessageContent

const (
	messageLimit   = 2000
	typingEvery    = 8 * time.Second // Discord shows typing for ~10 s
	finishTimeout  = 2 * time.Minute // bound for delivering a final reply
	dedupeTTL      = 15 * time.Minute
	dedupeMax      = 100000
	channelCacheN  = 10000
	workerQueue    = 128
	messageWorkers = 4
)

var errClosed = errors.New("discord adapter is shut down")

// Adapter is one bot connection.
type Adapter struct {
	cfg  Config
	eng  Engine
	log  logrus.FieldLogger
	sess *discordgo.Session
	// transport is ours so shutdown can close its idle connections.
	transport *http.Transport
	files     *fileClient // attachment downloads, without the token

	dedupe    *reply.Dedupe
	chans     *channelCache
	approvals *approvals
	access    access
	listen    map[string]bool

	botID     atomic.Value // string, from READY
	appID     atomic.Value // string, config or READY
	connected atomic.Bool
	running   atomic.Bool

	mu      sync.Mutex
	closed  bool
	runCtx  context.Context
	wg      sync.WaitGroup // every goroutine the adapter starts
	queues  []chan func(context.Context)
	iqueue  chan func(context.Context)
	lastErr error
}

// New validates cfg and builds the adapter; Run connects.
func New(cfg Config, eng Engine, log logrus.FieldLogger) (*Adapter, error) {
	if eng == nil {
		return nil, errors.New("discord: engine is required")
	}
	if log == nil {
		log = logrus.StandardLogger()
	}
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	setAPIBase(cfg.APIURL)
	sess, err := discordgo.New(cfg.Token)
	if err != nil {
		return nil, err
	}
	a := &Adapter{
		cfg: cfg, eng: eng, log: log.WithField("platform", "discord"), sess: sess,
		dedupe:    reply.NewDedupe(dedupeTTL, dedupeMax),
		chans:     newChannelCache(channelCacheN),
		approvals: newApprovals(),
		access:    newAccess(cfg),
		listen:    set(cfg.ListenChannels),
		runCtx:    context.Background(),
	}
	a.botID.Store("")
	a.appID.Store(cfg.AppID)
	a.configureSession()
	a.files = newFileClient(a.transport, cfg.APIURL)
	return a, nil
}

func (a *Adapter) configureSession() {
	s := a.sess
	s.Identify.Intents = Intents
	s.StateEnabled = false
	// Handlers run on discordgo's reader goroutine and only enqueue work to
	// the adapter's own workers, so no unowned goroutines are spawned.
	s.SyncEvents = true
	// discordgo would sleep and retry a 429 forever; the reply stream and
	// postRetry retry with a bound instead.
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 2
	// discordgo prints whole payloads from warning level up.
	s.LogLevel = discordgo.LogError
	a.transport = http.DefaultTransport.(*http.Transport).Clone()
	// Typing, replies, reactions and interaction answers run at once; the
	// default of 2 idle connections per host makes them redial.
	a.transport.MaxIdleConnsPerHost = 16
	s.Client = &http.Client{Timeout: 30 * time.Second, Transport: apimetrics.Transport(rateLimitBody{base: a.transport}, apimetrics.Route, a.cfg.APICalls)}
	s.Dialer = &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 15 * time.Second,
		NetDialContext:   a.dialGateway,
	}
	s.AddHandler(a.onReady)
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) { a.connected.Store(true) })
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) { a.connected.Store(false) })
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { a.onMessage(m.Message) })
	s.AddHandler(func(_ *discordgo.Session, t *discordgo.ThreadCreate) { a.onThread(t.Channel) })
	s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { a.onInteraction(i.Interaction) })
}

// dialGateway refuses once the adapter is closed: discordgo's reconnect
// loop, if it is running, must not reopen a session we shut down.
func (a *Adapter) dialGateway(ctx context.Context, network, addr string) (net.Conn, error) {
	if a.isClosed() {
		return nil, errClosed
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (a *Adapter) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	if r.User != nil {
		a.botID.Store(r.User.ID)
	}
	if a.appID.Load().(string) == "" && r.Application != nil {
		a.appID.Store(r.Application.ID)
	}
	a.connected.Store(true)
	a.log.WithField("session_id_set", r.SessionID != "").Info("discord gateway ready")
}

// Name is the adapter's platform name.
func (a *Adapter) Name() string { return "discord" }

// Ready is nil while the gateway is connected.
func (a *Adapter) Ready() error {
	switch {
	case a.isClosed():
		return errClosed
	case !a.running.Load():
		return errors.New("discord: not started")
	case !a.connected.Load():
		a.mu.Lock()
		err := a.lastErr
		a.mu.Unlock()
		if err != nil {
			return errors.New("discord: gateway not connected: " + err.Error())
		}
		return errors.New("discord: gateway not connected")
	}
	return nil
}

// Run connects, registers the commands and serves until ctx ends; it
// returns nil then. discordgo reconnects (and resumes) dropped gateways.
func (a *Adapter) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("discord: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.startWorkers(ctx)
	if a.open(ctx) {
		a.goTracked(func() { a.registerCommands(ctx) })
		<-ctx.Done()
	}
	a.shutdown(cancel)
	return nil
}

// open retries the first connection with backoff until it works or ctx
// ends; false means ctx ended.
func (a *Adapter) open(ctx context.Context) bool {
	wait := time.Second
	for {
		err := a.sess.Open()
		if err == nil {
			return true
		}
		a.mu.Lock()
		a.lastErr = err
		a.mu.Unlock()
		a.log.WithError(err).WithField("retry_in", wait).Warn("discord gateway connect failed")
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

func (a *Adapter) shutdown(cancel context.CancelFunc) {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	// Reconnect off first: otherwise the heartbeat or reader goroutine can
	// reopen the session we are closing.
	a.sess.Lock()
	a.sess.ShouldReconnectOnError = false
	a.sess.Unlock()
	if err := a.sess.Close(); err != nil {
		a.log.WithError(err).Warn("discord close")
	}
	a.connected.Store(false)
	cancel()
	a.wg.Wait()
	a.transport.CloseIdleConnections()
}

func (a *Adapter) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// goTracked starts f unless the adapter is closed; shutdown waits for it.
func (a *Adapter) goTracked(f func()) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
	return true
}

// startWorkers starts the message workers (one queue per shard of channel
// ids, so messages of one channel keep their order) and the interaction
// worker (separate, so deferring never waits behind thread creation).
func (a *Adapter) startWorkers(ctx context.Context) {
	a.mu.Lock()
	a.runCtx = ctx
	a.queues = make([]chan func(context.Context), messageWorkers)
	for i := range a.queues {
		a.queues[i] = make(chan func(context.Context), workerQueue)
	}
	a.iqueue = make(chan func(context.Context), workerQueue)
	queues := append(append([]chan func(context.Context){}, a.queues...), a.iqueue)
	a.mu.Unlock()
	for _, q := range queues {
		a.goTracked(func() { work(ctx, q) })
	}
}

func work(ctx context.Context, q chan func(context.Context)) {
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-q:
			f(ctx)
		}
	}
}

// enqueue hands f to the worker for key; it blocks while that queue is full
// (backpressure on the gateway reader) and drops f only at shutdown.
func (a *Adapter) enqueue(q chan func(context.Context), f func(context.Context)) {
	a.mu.Lock()
	ctx := a.runCtx
	a.mu.Unlock()
	if q == nil {
		return
	}
	select {
	case q <- f:
	case <-ctx.Done():
	}
}

func (a *Adapter) messageQueue(channel string) chan func(context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.queues) == 0 {
		return nil
	}
	var h uint32
	for i := 0; i < len(channel); i++ {
		h = h*31 + uint32(channel[i])
	}
	return a.queues[h%uint32(len(a.queues))]
}

func (a *Adapter) interactionQueue() chan func(context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.iqueue
}

// doneCh closes when Run's context ends.
func (a *Adapter) doneCh() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runCtx.Done()
}

func (a *Adapter) bot() string { return a.botID.Load().(string) }

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
