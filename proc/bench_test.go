package proc

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

const benchPrompt = "ping"

// rawAgent is the baseline: the same binary and flags as Process uses,
// driven over bare pipes, looking for nothing but the result line.
type rawAgent struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	line []byte
}

func startRaw(b *testing.B) *rawAgent {
	cfg := mockConfig(b)
	cmd := exec.Command(cfg.Path, Argv(cfg)...)
	cmd.Dir = cfg.Dir
	cmd.Env = withHome(AgentEnv(cfg.Kind, cfg.Env, nil), cfg.Home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	r := &rawAgent{cmd: cmd, in: in, out: bufio.NewReaderSize(out, readBufBytes),
		line: []byte(`{"type":"user","message":{"role":"user","content":"` + benchPrompt + `"}}` + "\n")}
	b.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Wait()
	})
	return r
}

func (r *rawAgent) turn(b *testing.B) {
	if _, err := r.in.Write(r.line); err != nil {
		b.Fatal(err)
	}
	for {
		line, err := r.out.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		if bytes.Contains(line, resultMark) {
			return
		}
	}
}

func procTurn(b *testing.B, p *Process, ctx context.Context) {
	var deltas int
	res, err := p.Turn(ctx, UserMessage{Text: benchPrompt}, func(ev *Event) {
		if ev.Type == EventTextDelta {
			deltas += len(ev.Text)
		}
	})
	if err != nil || res.Text != "ECHO: "+benchPrompt || deltas != len(res.Text) {
		b.Fatalf("turn: %+v %v (%d delta bytes)", res, err, deltas)
	}
}

func BenchmarkRawPingPong(b *testing.B) {
	r := startRaw(b)
	r.turn(b) // warm up
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.turn(b)
	}
}

func BenchmarkTurn(b *testing.B) {
	p := startMock(b, mockConfig(b))
	ctx := context.Background()
	procTurn(b, p, ctx)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		procTurn(b, p, ctx)
	}
}

// BenchmarkTurnVsRaw alternates a raw round trip and a Process.Turn, so
// both see the same machine load, and reports their ratio.
func BenchmarkTurnVsRaw(b *testing.B) {
	r := startRaw(b)
	p := startMock(b, mockConfig(b))
	ctx := context.Background()
	r.turn(b)
	procTurn(b, p, ctx)
	var raw, turn time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		r.turn(b)
		t1 := time.Now()
		procTurn(b, p, ctx)
		raw += t1.Sub(t0)
		turn += time.Since(t1)
	}
	b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "raw-ns/turn")
	b.ReportMetric(float64(turn.Nanoseconds())/float64(b.N), "proc-ns/turn")
	b.ReportMetric(float64(turn)/float64(raw), "proc/raw")
}

func BenchmarkParseEvent(b *testing.B) {
	lines := recordedLines(b, "basic.jsonl")
	var n int
	for _, l := range lines {
		n += len(l)
	}
	var ev Event
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, l := range lines {
			if err := ParseEvent(l, &ev); err != nil {
				b.Fatal(err)
			}
		}
	}
}
