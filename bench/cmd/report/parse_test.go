package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkHotTurn/raw-pipe-2         	    3000	     91000 ns/op	        80.00 p50-µs	       150.0 p99-µs
BenchmarkHotTurn/router-2           	    3000	    120000 ns/op	       100.0 p50-µs	       300.0 p99-µs	    2100 B/op	      30 allocs/op
BenchmarkEventCallback/dispatch-2   	1000000000	         1.5 ns/op	       0 B/op	       0 allocs/op
TestDrillHang: 2 threads hung their agent; lost 0
--- FAIL: TestDrillX (1.00s)
ok  	github.com/hotline-dev/hotline/bench	12.3s
`

func TestParseGoTest(t *testing.T) {
	r := &Results{Bench: map[string]Bench{}}
	if err := r.addGoTest("engine.txt", strings.NewReader(sample)); err != nil {
		t.Fatal(err)
	}
	if v, ok := r.get("BenchmarkHotTurn/router", "p99-µs"); !ok || v != 300 {
		t.Fatalf("router p99 %v %v", v, ok)
	}
	if v, ok := r.get("BenchmarkEventCallback/dispatch", "allocs/op"); !ok || v != 0 {
		t.Fatalf("allocs %v %v", v, ok)
	}
	if len(r.Drills) != 1 || len(r.Failures) != 1 {
		t.Fatalf("drills %q failures %q", r.Drills, r.Failures)
	}
	md := render(r, Machine{Cores: 2, CPU: "x"}, "make bench")
	for _, want := range []string{"| Hot multiplex (one warm turn) | 2.85 µs | 156–340 µs | 100.00 µs / 300.00 µs | 80.00 µs / 150.00 µs", "1.25×", "## Failures", "Cold start", notRun} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestDrillSizesKeptApart(t *testing.T) {
	r := &Results{Bench: map[string]Bench{}}
	if err := r.addGoTest("drills.txt", strings.NewReader("TestDrillHang: small; lost 0\n")); err != nil {
		t.Fatal(err)
	}
	if err := r.addGoTest("drills-full.txt", strings.NewReader("TestDrillHang: big; lost 0\n")); err != nil {
		t.Fatal(err)
	}
	if len(r.Drills) != 1 || len(r.DrillsFull) != 1 || !strings.Contains(r.DrillsFull[0], "big") {
		t.Fatalf("ci %q full %q", r.Drills, r.DrillsFull)
	}
	md := render(r, Machine{}, "make bench")
	if !strings.Contains(md, "full size") || !strings.Contains(md, "CI size") {
		t.Fatalf("drill sections missing:\n%s", md)
	}
}

func TestLoadLogFailure(t *testing.T) {
	r := &Results{Bench: map[string]Bench{}}
	in := "slack 10 threads x 1 msgs: fine\nloadgen: discord, 1000 threads: load: no finished reply to 1\n"
	if err := r.addLoadLog("load-closed.log", strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if len(r.Failures) != 1 || !strings.Contains(r.Failures[0], "discord, 1000 threads") {
		t.Fatalf("failures %q", r.Failures)
	}
}

func TestParseRejectsBrokenLine(t *testing.T) {
	r := &Results{Bench: map[string]Bench{}}
	if err := r.addGoTest("x.txt", strings.NewReader("BenchmarkA-2 10 5 ns/op 7\n")); err == nil {
		t.Fatal("odd field count accepted")
	}
	if err := r.addGoTest("x.txt", strings.NewReader("BenchmarkA-2 10 five ns/op\n")); err == nil {
		t.Fatal("non-numeric value accepted")
	}
}

func TestLoadJSON(t *testing.T) {
	r := &Results{Bench: map[string]Bench{}}
	in := `{"Platform":"slack","Threads":10,"Messages":2,"Sent":20,"Answered":20,"MsgsPerSec":50,"FirstPost":{"N":20,"P50":3000000,"P99":9000000,"P999":9000000}}` + "\n"
	if err := r.addLoad("load.jsonl", strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	md := render(r, Machine{}, "make bench")
	if !strings.Contains(md, "| slack | 10 × 2 | closed loops | 50 | 3.00 ms / 9.00 ms / 9.00 ms |") {
		t.Fatalf("load row missing:\n%s", md)
	}
	if strings.Contains(md, "not runnot run") {
		t.Fatalf("doubled placeholder:\n%s", md)
	}
	if err := r.addLoad("bad.jsonl", strings.NewReader("{")); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}

func FuzzParseBenchLine(f *testing.F) {
	f.Add("BenchmarkHotTurn/router-2 3000 120000 ns/op 100.0 p50-µs")
	f.Add("Benchmark 1 2")
	f.Add("BenchmarkX-8 1 NaN ns/op")
	f.Fuzz(func(t *testing.T, line string) {
		b, ok, err := parseBenchLine(line)
		if ok && (err != nil || b.Name == "" || b.Values == nil) {
			t.Fatalf("ok with %+v, %v", b, err)
		}
	})
}
