package reply

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// bigText is about 200 KB of agent-like output: prose paragraphs, lists and
// fenced code with long lines.
func bigText() string {
	var b strings.Builder
	for i := 0; b.Len() < 200_000; i++ {
		b.WriteString("Here is an explanation of step ")
		b.WriteString(strings.Repeat("with several words and some ünïcödé ", 6))
		b.WriteString("\n\n- item one\n- item two ❤️\n\n```go\n")
		for j := 0; j < 25; j++ {
			b.WriteString("\tfmt.Println(\"line\", i, j) // a comment that is fairly long\n")
		}
		b.WriteString("\tx := []int{" + strings.Repeat("1, 2, 3, ", 40) + "}\n```\n\n")
	}
	return b.String()
}

// naiveChunks is the baseline: one pass cutting every limit runes, the
// least any splitter must do.
func naiveChunks(text string, limit int) []string {
	var parts []string
	n, start := 0, 0
	for i := range text {
		if n == limit {
			parts = append(parts, text[start:i])
			start, n = i, 0
		}
		n++
	}
	return append(parts, text[start:])
}

// BenchmarkSplit200KB times Split of a 200 KB reply; the baseline, timed in
// the same loop so machine load hits both alike, is naive rune chunking.
func BenchmarkSplit200KB(b *testing.B) {
	text := bigText()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var base time.Duration
	var parts []string
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		t0 := time.Now()
		naiveChunks(text, 2000)
		base += time.Since(t0)
		b.StartTimer()
		parts = Split(text, 2000)
	}
	b.StopTimer()
	if Join(parts) != text || utf8.RuneCountInString(parts[0]) > 2000 {
		b.Fatal("Split broke the text")
	}
	b.ReportMetric(float64(b.Elapsed())/float64(base), "x_naive_chunking")
}

type nopPoster struct{}

func (nopPoster) Post(context.Context, string) (string, error) { return "id", nil }
func (nopPoster) Edit(context.Context, string, string) error   { return nil }

// BenchmarkAppend measures Append while the stream goroutine runs (one
// stream per 10,000 appends, a 60 KB reply). The baseline, interleaved in
// batches, is the bare minimum: a mutex-guarded builder of the same size and
// a non-blocking signal.
func BenchmarkAppend(b *testing.B) {
	const delta, perReply = "token ", 10_000
	var mu sync.Mutex
	var sb strings.Builder
	wake := make(chan struct{}, 1)
	bare := func() {
		mu.Lock()
		sb.WriteString(delta)
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	newS := func() *Stream {
		return NewStream(nopPoster{}, Options{Limit: 2000, Interval: 10 * time.Millisecond, Log: quietLog()})
	}
	s := newS()
	var base time.Duration
	b.SetBytes(int64(len(delta)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%perReply == 0 && i > 0 {
			b.StopTimer()
			s.Abort()
			s = newS()
			t0 := time.Now()
			for j := 0; j < perReply; j++ {
				bare()
			}
			base += time.Since(t0)
			sb = strings.Builder{}
			b.StartTimer()
		}
		s.Append(delta)
	}
	b.StopTimer()
	s.Abort()
	if n := b.N / perReply * perReply; n > 0 {
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)/(float64(base)/float64(n)), "x_bare_append")
	}
}
