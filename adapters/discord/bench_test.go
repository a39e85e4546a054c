package discord

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/hotline-dev/hotline/adapters/discord/fakediscord"
)

// BenchmarkMessageCreateToFirstPost measures, per message in a known
// thread, the time from the fake dispatching MESSAGE_CREATE to the fake
// receiving the reply's first POST, against an engine that answers at once.
// The baseline is a bare discordgo bot on its own fake that posts from its
// handler: same gateway, JSON and HTTP path, no bridge. Reported: p50/p99
// of both and the p50 ratio (bridge overhead factor).
func BenchmarkMessageCreateToFirstPost(b *testing.B) {
	base := baselineSamples(b, b.N)
	eng := newFakeEngine()
	defer eng.Close()
	h := start(b, eng, nil)
	first := h.message(channel, alice, "<@"+fakediscord.BotID+"> warm up", true)
	thread := first["id"].(string)
	h.dispatch("MESSAGE_CREATE", first)
	h.waitContents(thread, "ECHO: warm up")
	h.until("first turn done", func(c []fakediscord.Call) bool { return len(find(c, "PUT", "/reactions/"+emojiDone)) == 1 })

	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		posts := len(find(h.srv.Calls(), "POST", "/channels/"+thread+"/messages"))
		m := h.message(thread, alice, "n"+strconv.Itoa(i), false)
		t0 := time.Now()
		h.dispatch("MESSAGE_CREATE", m)
		calls := h.until("reply post", func(c []fakediscord.Call) bool {
			return len(find(c, "POST", "/channels/"+thread+"/messages")) > posts
		})
		samples = append(samples, find(calls, "POST", "/channels/"+thread+"/messages")[posts].Time.Sub(t0))
		// Let the turn end (done reaction) so turns do not queue up.
		h.until("turn done", func(c []fakediscord.Call) bool { return len(find(c, "PUT", "/reactions/"+emojiDone)) == i+2 })
	}
	b.StopTimer()
	p50, p99 := percentiles(samples)
	b50, b99 := percentiles(base)
	b.ReportMetric(float64(p50.Microseconds()), "p50_us")
	b.ReportMetric(float64(p99.Microseconds()), "p99_us")
	b.ReportMetric(float64(b50.Microseconds()), "baseline_p50_us")
	b.ReportMetric(float64(b99.Microseconds()), "baseline_p99_us")
	if b50 > 0 {
		b.ReportMetric(float64(p50)/float64(b50), "p50_ratio")
	}
}

func percentiles(s []time.Duration) (p50, p99 time.Duration) {
	if len(s) == 0 {
		return 0, 0
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

// baselineSamples runs a bare discordgo bot that posts "x" for each
// MESSAGE_CREATE, on its own fake, and measures dispatch → POST.
func baselineSamples(b *testing.B, n int) []time.Duration {
	b.Helper()
	srv := fakediscord.New()
	defer srv.Close()
	setAPIBase(srv.URL())
	s, err := discordgo.New("Bot " + fakediscord.Token)
	if err != nil {
		b.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	s.Client = &http.Client{Transport: tr}
	s.Identify.Intents = Intents
	s.SyncEvents = true
	s.StateEnabled = false
	s.LogLevel = discordgo.LogError
	s.AddHandler(func(s *discordgo.Session, m *discordgo.MessageCreate) {
		_, _ = s.ChannelMessageSend(m.ChannelID, "x")
	})
	if err := s.Open(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		s.Lock()
		s.ShouldReconnectOnError = false
		s.Unlock()
		_ = s.Close()
	}()
	h := &harness{t: b, srv: srv}
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		posts := len(find(srv.Calls(), "POST", "/messages"))
		m := h.message(channel, alice, "n", false)
		t0 := time.Now()
		h.dispatch("MESSAGE_CREATE", m)
		calls := h.until("baseline post", func(c []fakediscord.Call) bool { return len(find(c, "POST", "/messages")) > posts })
		out = append(out, find(calls, "POST", "/messages")[posts].Time.Sub(t0))
	}
	return out
}
