package opencode

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/proc"
)

func benchLines(b *testing.B) [][]byte {
	b.Helper()
	f, err := os.Open("testdata/global_event.sse")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), maxEventBytes)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			lines = append(lines, []byte(d))
		}
	}
	return lines
}

// BenchmarkMapRecording parses and maps every recorded bus event; compare
// with BenchmarkBaselineUnmarshal (a generic decode of the same lines) in
// the same run: the driver's cost per event relative to reading it at all.
func BenchmarkMapRecording(b *testing.B) {
	lines := benchLines(b)
	b.ReportAllocs()
	for b.Loop() {
		ts := newTurnState(nil)
		n := 0
		for _, l := range lines {
			ev, err := parseEvent(l)
			if err != nil {
				b.Fatal(err)
			}
			ts.apply(ev, func(*proc.Event) { n++ })
		}
	}
}

func BenchmarkBaselineUnmarshal(b *testing.B) {
	lines := benchLines(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			var v map[string]any
			if err := json.Unmarshal(l, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
}
