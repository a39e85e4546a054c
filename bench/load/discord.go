package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hotline-dev/hotline/adapters/discord"
	"github.com/hotline-dev/hotline/adapters/discord/fakediscord"
)

const (
	dUser = "700000000000000900"
	// threadsPerChannel spreads the opening mentions over channels: the
	// adapter's done reaction on an opening message is limited (by
	// discordgo, as by Discord) to one per 200 ms per channel, and the
	// session's next turn waits for it (see RESULTS.md).
	threadsPerChannel = 10
	// The done and error markers the Discord adapter reacts with.
	dDone, dError = "✅", "❌"
)

// runDiscord is Run for the Discord adapter over fakediscord's gateway and
// REST API. A thread opens with a mention in a channel (the adapter starts
// a Discord thread, whose id is the message's) and continues inside it.
func runDiscord(ctx context.Context, cfg Config) (res Result, err error) {
	probe, r, done, err := setup(&cfg)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, done()) }()
	srv := fakediscord.New()
	defer srv.Close()
	for t := 0; t < cfg.Threads; t += threadsPerChannel {
		id := dChannelOf(t)
		srv.AddChannel(id, map[string]any{"id": id, "type": 0, "guild_id": fakediscord.DefaultGuild, "name": "load" + id})
	}
	a, err := discord.New(discord.Config{Token: fakediscord.Token, APIURL: srv.URL(), GuildID: fakediscord.DefaultGuild,
		EditInterval: cfg.EditInterval}, &probeEngine{Router: r, p: probe}, Discard())
	if err != nil {
		return res, err
	}
	actx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Go(func() { _ = a.Run(actx) })
	if _, ok := srv.WaitFor(func([]fakediscord.Call) bool { return a.Ready() == nil }, 30*time.Second); !ok {
		return res, fmt.Errorf("load: discord adapter not ready: %v", a.Ready())
	}
	w := newDWatcher(srv)
	wctx, wstop := context.WithCancel(context.Background())
	var wwg sync.WaitGroup
	wwg.Go(func() { w.run(wctx) })
	defer wwg.Wait()
	defer wstop()

	d := &dgen{gen: &gen{cfg: cfg, wants: make([][]string, cfg.Threads), threads: make([]string, cfg.Threads)}, srv: srv, w: w}
	d.sendFn = d.send
	err = d.warmAndMeasure(ctx, "discord", probe, d.verify, &res)
	return res, err
}

// dChannelOf is the channel thread t opens in.
func dChannelOf(t int) string { return fmt.Sprintf("6000000000%08d", t/threadsPerChannel) }

type dgen struct {
	*gen
	srv *fakediscord.Server
	w   *dwatcher
}

func (d *dgen) send(t, m int) (*pending, error) {
	text := d.prompt(t, m)
	id := d.srv.NewID()
	ch, thread := dChannelOf(t), id // a thread started from a message has its id
	content := "<@" + fakediscord.BotID + "> " + text
	mentions := []any{map[string]any{"id": fakediscord.BotID, "username": fakediscord.BotName, "bot": true}}
	if m >= 0 {
		ch, thread, content, mentions = d.threads[t], d.threads[t], text, []any{}
	} else {
		d.mu.Lock()
		d.threads[t] = id
		d.mu.Unlock()
	}
	p := &pending{thread: thread, userTS: id, want: want(text), done: make(chan struct{})}
	d.w.expect(p)
	msg := map[string]any{
		"id": id, "channel_id": ch, "guild_id": fakediscord.DefaultGuild, "content": content, "type": 0,
		"author": map[string]any{"id": dUser, "username": "load"}, "member": map[string]any{"roles": []string{}},
		"timestamp": time.Now().UTC().Format(time.RFC3339), "mentions": mentions,
	}
	p.sent = time.Now()
	if err := d.srv.Dispatch("MESSAGE_CREATE", msg); err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.wants[t] = append(d.wants[t], p.want)
	d.mu.Unlock()
	return p, nil
}

// verify compares each thread's bot messages with the agent's replies.
func (d *dgen) verify() int {
	wrong := 0
	for t, thr := range d.threads {
		var got []string
		for _, m := range d.srv.Messages(thr) {
			got = append(got, m.Content)
		}
		if strings.Join(got, "\x00") != strings.Join(d.wants[t], "\x00") {
			wrong++
		}
	}
	return wrong
}

// dwatcher is watcher for fakediscord's call log.
type dwatcher struct {
	srv    *fakediscord.Server
	mu     sync.Mutex
	byThr  map[string]*pending
	byUser map[string]*pending
	seen   int
}

func newDWatcher(srv *fakediscord.Server) *dwatcher {
	return &dwatcher{srv: srv, byThr: map[string]*pending{}, byUser: map[string]*pending{}}
}

func (w *dwatcher) expect(p *pending) {
	w.mu.Lock()
	w.byThr[p.thread], w.byUser[p.userTS] = p, p
	w.mu.Unlock()
}

// run polls until ctx ends.
func (w *dwatcher) run(ctx context.Context) { poll(ctx, w.scan) }

func (w *dwatcher) scan() {
	w.mu.Lock()
	defer w.mu.Unlock()
	calls := w.srv.CallsSince(w.seen)
	w.seen += len(calls)
	for _, c := range calls {
		w.apply(c)
	}
}

// apply attributes one REST call: /channels/{ch}/messages (reply post),
// /channels/{ch}/messages/{id} (edit), …/reactions/{emoji}/@me (marker).
func (w *dwatcher) apply(c fakediscord.Call) {
	if c.Status >= 300 {
		return
	}
	parts := strings.Split(strings.Trim(c.Path, "/"), "/")
	if len(parts) < 3 || parts[0] != "channels" || parts[2] != "messages" {
		return
	}
	switch {
	case c.Method == "POST" && len(parts) == 3:
		content := contentOf(c.Body)
		if p := w.byThr[parts[1]]; p != nil && !p.isDone() && content != "" {
			if p.firstPost.IsZero() {
				p.firstPost = c.Time
			}
			p.lastEdit = c.Time
			p.posts++
		}
	case c.Method == "PATCH" && len(parts) == 4:
		if p := w.byThr[parts[1]]; p != nil && !p.isDone() {
			p.edits++
			p.lastEdit = c.Time
		}
	case c.Method == "PUT" && len(parts) == 7 && parts[4] == "reactions" && (parts[5] == dDone || parts[5] == dError):
		// A message is answered when its turn is over, marker included:
		// the session's next turn cannot start before Done returns, and
		// Done returns after the reaction.
		if p := w.byUser[parts[3]]; p != nil && !p.isDone() {
			close(p.done)
			delete(w.byUser, p.userTS)
		}
	}
}

// contentOf is a message body's text ("" for buttons-only bodies).
func contentOf(body []byte) string {
	var m struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	return m.Content
}
