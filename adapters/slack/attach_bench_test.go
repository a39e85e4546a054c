package slack

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
)

// BenchmarkImageMentionToFirstPost measures what fetching an attachment
// adds: the time from a mention carrying a ~1 MB PNG to its first reply
// post, against the same mention without a file, alternated in one
// adapter so both see the same machine load. The ratio is the result.
func BenchmarkImageMentionToFirstPost(b *testing.B) {
	h := newHarness(b, newScriptEngine(), nil)
	f := h.fake.AddFile("big.png", "image/png", noisyPNG(b, 1<<20))
	var plain, withFile []time.Duration
	b.ResetTimer()
	for range b.N {
		for _, files := range [][]fakeslack.File{nil, {f}} {
			lat := measure(b, h.fake, 1, func(ts string) {
				m := fakeslack.Msg{Channel: channel, User: user, Text: "<@UBOT> hi", TS: ts, Files: files}
				h.inject(fakeslack.MentionEvent(fakeslack.EventID(), m))
			})
			if files == nil {
				plain = append(plain, lat...)
			} else {
				withFile = append(withFile, lat...)
			}
		}
	}
	b.StopTimer()
	p50, b50 := pct(withFile, 50), pct(plain, 50)
	b.ReportMetric(float64(p50.Microseconds()), "file-p50-µs")
	b.ReportMetric(float64(b50.Microseconds()), "plain-p50-µs")
	b.ReportMetric(float64(p50)/float64(max(b50, 1)), "p50-ratio")
	b.ReportMetric(float64(pct(withFile, 99))/float64(max(pct(plain, 99), 1)), "p99-ratio")
	b.ReportMetric(0, "ns/op")
}

// noisyPNG is a PNG of random pixels (incompressible) of about size bytes.
func noisyPNG(b *testing.B, size int) []byte {
	side := 1
	for side*side*4 < size {
		side++
	}
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
