package discord

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/discord/fakediscord"
)

// BenchmarkAttachmentToFirstPost measures dispatch → first reply POST for
// a message in a known thread carrying a 1 MB PNG, against the same
// message without a file in the same run and harness (iterations
// alternate). Reported: both p50s and their ratio, the cost of the
// download on the message's path.
func BenchmarkAttachmentToFirstPost(b *testing.B) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(b, eng, nil)
	first := h.message(channel, alice, mention("warm up"), true)
	thread := first["id"].(string)
	h.dispatch("MESSAGE_CREATE", first)
	h.waitContents(thread, "ECHO: warm up")
	image := append(append([]byte(nil), pngData...), bytes.Repeat([]byte{9}, 1<<20)...)
	var with, without []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, attach := range []bool{true, false} {
			posts := len(find(h.srv.Calls(), "POST", "/channels/"+thread+"/messages"))
			m := h.message(thread, alice, "n"+strconv.Itoa(i), false)
			if attach {
				b.StopTimer()
				m = withFiles(m, h.srv.AddFile(thread, "big.png", "image/png", image))
				b.StartTimer()
			}
			t0 := time.Now()
			h.dispatch("MESSAGE_CREATE", m)
			calls := h.until("reply post", func(c []fakediscord.Call) bool {
				return len(find(c, "POST", "/channels/"+thread+"/messages")) > posts
			})
			d := find(calls, "POST", "/channels/"+thread+"/messages")[posts].Time.Sub(t0)
			if attach {
				with = append(with, d)
			} else {
				without = append(without, d)
			}
			h.until("turn done", func(c []fakediscord.Call) bool {
				return len(find(c, "PUT", "/messages/"+m["id"].(string)+"/reactions/"+emojiDone)) == 1
			})
		}
	}
	b.StopTimer()
	w50, _ := percentiles(with)
	n50, _ := percentiles(without)
	b.ReportMetric(float64(w50.Microseconds()), "with_1MB_p50_us")
	b.ReportMetric(float64(n50.Microseconds()), "without_p50_us")
	if n50 > 0 {
		b.ReportMetric(float64(w50)/float64(n50), "p50_ratio")
	}
}
