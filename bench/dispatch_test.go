package bench_test

import (
	"testing"

	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/proc"
)

// deltaLine is a text_delta stream_event exactly as recorded in
// shared/protocol/claude-code-2.1.332/basic.jsonl.
const deltaLine = `{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ECH"}},"session_id":"47adb7b1-6ad4-4497-a527-1c3db78bdc3f","parent_tool_use_id":null,"uuid":"d709c1a8-1d61-4ca2-8f05-55461a1f855e","api_message_id":"msg_fake_fcc6e3277d6b4bea8f63"}`

// countingResponder is a Responder whose Delta does no work beyond
// counting, so the benchmark measures the dispatch and not the sink.
type countingResponder struct {
	nop
	deltas int
}

func (c *countingResponder) Delta(string) { c.deltas++ }

// BenchmarkEventCallback is HotPlex's "event callback" metric: one
// recorded stream_event line parsed by proc.ParseEvent and delivered to a
// Responder. "parse" alone is the same-run baseline; "dispatch" is the
// callback step on an already parsed event (target: 0 allocs).
func BenchmarkEventCallback(b *testing.B) {
	line := []byte(deltaLine)
	b.Run("parse", func(b *testing.B) {
		var ev proc.Event
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := proc.ParseEvent(line, &ev); err != nil {
				b.Fatal(err)
			}
		}
		if ev.Type != proc.EventTextDelta || ev.Text != "ECH" {
			b.Fatalf("parsed %v %q", ev.Type, ev.Text)
		}
	})
	b.Run("parse+dispatch", func(b *testing.B) {
		var ev proc.Event
		resp := &countingResponder{}
		sink := core.EventSink{Resp: resp}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := proc.ParseEvent(line, &ev); err != nil {
				b.Fatal(err)
			}
			sink.Handle(&ev)
		}
		if resp.deltas != b.N {
			b.Fatalf("%d deltas for %d events", resp.deltas, b.N)
		}
	})
	b.Run("dispatch", func(b *testing.B) {
		var ev proc.Event
		if err := proc.ParseEvent(line, &ev); err != nil {
			b.Fatal(err)
		}
		resp := &countingResponder{}
		sink := core.EventSink{Resp: resp}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			sink.Handle(&ev)
		}
		if resp.deltas != b.N {
			b.Fatalf("%d deltas for %d events", resp.deltas, b.N)
		}
	})
}

func TestDispatchDeliversRecordedDelta(t *testing.T) {
	var ev proc.Event
	if err := proc.ParseEvent([]byte(deltaLine), &ev); err != nil {
		t.Fatal(err)
	}
	resp := &countingResponder{}
	first := 0
	sink := core.EventSink{Resp: resp, OnFirstDelta: func() { first++ }}
	sink.Handle(&ev)
	if resp.deltas != 1 || first != 1 {
		t.Fatalf("deltas %d, first-delta calls %d", resp.deltas, first)
	}
	allocs := testing.AllocsPerRun(100, func() { sink.Handle(&ev) })
	if allocs != 0 {
		t.Fatalf("dispatch allocates %v times per event, want 0", allocs)
	}
}
