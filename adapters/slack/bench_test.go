package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
)

// BenchmarkSocketModeToFirstPost measures the time from a mention written
// on the Socket Mode websocket to the first chat.postMessage the fake sees,
// with an engine that answers at once. The baseline is a bare slack-go
// socketmode client that acks and posts directly, measured in the same run;
// the ratios are the bridge's overhead relative to it.
func BenchmarkSocketModeToFirstPost(b *testing.B) {
	base := baselineLatencies(b, b.N)
	h := newHarness(b, newScriptEngine(), nil)
	lat := measure(b, h.fake, b.N, func(ts string) {
		m := fakeslack.Msg{Channel: channel, User: user, Text: "<@UBOT> hi", TS: ts}
		h.inject(fakeslack.MentionEvent(fakeslack.EventID(), m))
		h.inject(fakeslack.MessageEvent(fakeslack.EventID(), m))
	})
	b.StopTimer()
	p50, p99 := pct(lat, 50), pct(lat, 99)
	b50, b99 := pct(base, 50), pct(base, 99)
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(b50.Microseconds()), "base-p50-µs")
	b.ReportMetric(float64(b99.Microseconds()), "base-p99-µs")
	b.ReportMetric(float64(p50)/float64(max(b50, 1)), "p50-ratio")
	b.ReportMetric(float64(p99)/float64(max(b99, 1)), "p99-ratio")
	b.ReportMetric(0, "ns/op") // per-op wall time is dominated by waiting; the percentiles are the result
}

// measure runs n sequential samples: send(ts) injects a message with that
// ts; the sample is the time until the fake records the first post in its thread.
func measure(b *testing.B, fake *fakeslack.Server, n int, send func(ts string)) []time.Duration {
	b.Helper()
	lat := make([]time.Duration, 0, n)
	seen := 0 // calls already scanned
	b.ResetTimer()
	for range n {
		ts := fakeslack.UserTS()
		start := time.Now()
		send(ts)
		var at time.Time
		ok := fake.WaitUntil(func() bool {
			calls := fake.CallsSince(seen)
			for i, c := range calls {
				if c.Method == "chat.postMessage" && c.Form.Get("thread_ts") == ts {
					at, seen = c.Time, seen+i+1
					return true
				}
			}
			return false
		}, wait)
		if !ok {
			b.Fatalf("no reply to %s", ts)
		}
		lat = append(lat, at.Sub(start))
	}
	return lat
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, len(s)*p/100)]
}

// baselineLatencies measures a bare slack-go Socket Mode client that posts
// as soon as it decodes an event: the floor for any bridge on this stack.
func baselineLatencies(b *testing.B, n int) []time.Duration {
	fake := fakeslack.New(fakeslack.Options{})
	defer fake.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	api := slack.New("xoxb-base", slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken("xapp-base"),
		slack.OptionHTTPClient(&http.Client{Transport: tr}))
	sm := socketmode.New(api, socketmode.OptionLog(discardLogger{}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { _ = sm.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-sm.Events:
				if evt.Type != socketmode.EventTypeEventsAPI {
					continue
				}
				_ = sm.AckCtx(ctx, evt.Request.EnvelopeID, nil)
				var p struct {
					Event struct{ Channel, TS string } `json:"event"`
				}
				_ = json.Unmarshal(evt.Request.Payload, &p)
				_, _, _ = api.PostMessageContext(ctx, p.Event.Channel, slack.MsgOptionText("hi", false), slack.MsgOptionTS(p.Event.TS))
			}
		}
	})
	if !fake.WaitConnected(1, wait) {
		b.Fatal("baseline client did not connect")
	}
	return measure(b, fake, n, func(ts string) {
		if _, err := fake.Inject(fakeslack.Envelope{Type: "events_api",
			Payload: fakeslack.MessageEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: user, Text: "hi", TS: ts})}); err != nil {
			b.Fatal(err)
		}
	})
}
