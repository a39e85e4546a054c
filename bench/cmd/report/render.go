package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/bench/load"
)

const notRun = "not run"

// us formats a figure given in microseconds.
func us(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2f ms", v/1e3)
	case v >= 1:
		return fmt.Sprintf("%.2f µs", v)
	}
	return fmt.Sprintf("%.0f ns", v*1e3)
}

func ns(v float64) string { return us(v / 1e3) }

func dur(d time.Duration) string { return us(float64(d) / float64(time.Microsecond)) }

// ratio is a/b; far below 1 it also says how many times faster a is.
func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	if q := a / b; q < 0.1 {
		return fmt.Sprintf("%.2g× (%.0f× faster)", q, 1/q)
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// lat renders "p50 / p99" of a benchmark's percentile metrics.
func (r *Results) lat(name string) (string, float64, bool) {
	p50, ok1 := r.get(name, "p50-µs")
	p99, ok2 := r.get(name, "p99-µs")
	if !ok1 || !ok2 {
		return notRun, 0, false
	}
	return us(p50) + " / " + us(p99), p50, true
}

type row struct{ metric, claimed, rebuilt, ours, base, ratio, note string }

func (r *Results) seven() []row {
	var rows []row
	add := func(x row) { rows = append(rows, x) }

	ours, o50, ok1 := r.lat("BenchmarkColdStart/router")
	base, b50, ok2 := r.lat("BenchmarkColdStart/raw-spawn")
	add(row{"Cold start (new session to first result)", "1.52 ms", "≈504 ms", ours, base + " (spawn-to-first-result, bare exec)", ratioIf(ok1 && ok2, o50, b50), "p50 / p99"})

	add(r.hotRow())

	add(r.throughputRow())

	wc, ok1 := r.get("BenchmarkCheckBenign", "ns/op")
	wn, ok2 := r.get("BenchmarkNaiveRegexLoop", "ns/op")
	wp, okp := r.get("BenchmarkCheckBenignParsed", "ns/op")
	note := "mean ns/op over b.N (one check is too short to time alone)"
	if okp {
		note += fmt.Sprintf("; commands that need the full parser: %s", ns(wp))
	}
	add(row{"WAF check (benign command)", "1.23 µs", "37–113 µs", fmtIf(ok1, "%s", ns(wc)), fmtIf(ok2, "%s (naive regex loop, same rules)", ns(wn)), ratioIf(ok1 && ok2, wc, wn), note})

	pd, ok1 := r.get("BenchmarkEventCallback/parse+dispatch", "ns/op")
	pa, _ := r.get("BenchmarkEventCallback/parse+dispatch", "allocs/op")
	d, okd := r.get("BenchmarkEventCallback/dispatch", "ns/op")
	da, _ := r.get("BenchmarkEventCallback/dispatch", "allocs/op")
	p, ok2 := r.get("BenchmarkEventCallback/parse", "ns/op")
	add(row{"Event callback (one text_delta line to a Responder)", "234 ns", "–", fmtIf(ok1, "%s, %.0f allocs (parse+dispatch)", ns(pd), pa) + also(okd, "; dispatch alone %s, %.0f allocs", ns(d), da),
		fmtIf(ok2, "%s (ParseEvent alone)", ns(p)), ratioIf(ok1 && ok2, pd, p), "mean ns/op"})

	gb, ok1 := r.get("BenchmarkWarmSessionMemory", "go-bytes/session")
	ar, ok2 := r.get("BenchmarkWarmSessionMemory", "agent-rss-bytes/session")
	memNote := "bridge side vs the agent process it keeps warm"
	if hb, ok := r.get("BenchmarkWarmSessionMemory", "heap-bytes/session"); ok {
		sb, _ := r.get("BenchmarkWarmSessionMemory", "stack-bytes/session")
		memNote = fmt.Sprintf("of which heap %.1f KB, goroutine stacks %.1f KB; ", hb/1024, sb/1024) + memNote
	}
	add(row{"Memory per warm session", "2.1 KB", "≈290 KB Go heap", fmtIf(ok1, "%.1f KB Go heap+stacks", gb/1024), fmtIf(ok2, "%.1f MB agent RSS (mockcli)", ar/(1<<20)), "–", memNote})

	se, ok1 := r.get("BenchmarkConcurrentCreate5000", "errors")
	ss, _ := r.get("BenchmarkConcurrentCreate5000", "sessions/s")
	st, _ := r.get("BenchmarkConcurrentCreate5000", "total-s")
	add(row{"5000 concurrent session creations (cap 200 warm)", "5000", "–", fmtIf(ok1, "5000 created, %.0f errors, 0 lost, %.1f s (%.0f sessions/s)", se, st, ss), "–", "–", "the benchmark fails on any error or unanswered message"})
	return rows
}

// hotRow prefers BenchmarkHotTurnVsRaw, which alternates raw and routed
// turns so both see the same machine load, over the separate sub-benchmarks.
func (r *Results) hotRow() row {
	x := row{metric: "Hot multiplex (one warm turn)", claimed: "2.85 µs", rebuilt: "156–340 µs",
		note: "p50 / p99; includes mockcli's own work"}
	if ro50, ok := r.get("BenchmarkHotTurnVsRaw", "router-p50-µs"); ok {
		ro99, _ := r.get("BenchmarkHotTurnVsRaw", "router-p99-µs")
		ra50, _ := r.get("BenchmarkHotTurnVsRaw", "raw-p50-µs")
		ra99, _ := r.get("BenchmarkHotTurnVsRaw", "raw-p99-µs")
		pr, _ := r.get("BenchmarkHotTurnVsRaw", "p50-ratio")
		qr, _ := r.get("BenchmarkHotTurnVsRaw", "p99-ratio")
		x.ours, x.base = us(ro50)+" / "+us(ro99), us(ra50)+" / "+us(ra99)+" (pipe ping-pong, same binary, alternated with ours)"
		x.ratio = fmt.Sprintf("%.2f× (p99 %.2f×)", pr, qr)
		if c50, ok := r.get("BenchmarkHotTurnVsRaw", "caller-p50-µs"); ok {
			cr, _ := r.get("BenchmarkHotTurnVsRaw", "caller-p50-ratio")
			x.note += fmt.Sprintf("; until Done is called; until the benchmark's goroutine is woken by Done %s (%.2f×)", us(c50), cr)
		}
		if s, _, ok := r.lat("BenchmarkHotTurn/router"); ok {
			sb, _, _ := r.lat("BenchmarkHotTurn/raw-pipe")
			x.note += "; run separately: ours " + s + ", raw " + sb
		}
		return x
	}
	ours, o50, ok1 := r.lat("BenchmarkHotTurn/router")
	base, b50, ok2 := r.lat("BenchmarkHotTurn/raw-pipe")
	x.ours, x.base, x.ratio = ours, base+" (pipe ping-pong, same binary)", ratioIf(ok1 && ok2, o50, b50)
	return x
}

// throughputRow prefers BenchmarkThroughput10VsRaw, which alternates
// rounds of raw and routed closed loops, over the separate sub-benchmarks.
func (r *Results) throughputRow() row {
	x := row{metric: "Pool throughput, 10 sessions", claimed: "42.6k req/s", rebuilt: "–", note: "closed loops; ratio > 1 is better here"}
	tp, ok1 := r.get("BenchmarkThroughput10/router", "turns/s")
	tb, ok2 := r.get("BenchmarkThroughput10/raw-pipe", "turns/s")
	if ro, ok := r.get("BenchmarkThroughput10VsRaw", "router-turns/s"); ok {
		ra, _ := r.get("BenchmarkThroughput10VsRaw", "raw-turns/s")
		q, _ := r.get("BenchmarkThroughput10VsRaw", "ratio")
		x.ours, x.base = fmt.Sprintf("%.0f turns/s", ro), fmt.Sprintf("%.0f turns/s (10 raw pipes, rounds alternated with ours)", ra)
		x.ratio = fmt.Sprintf("%.2f×", q)
		if ok1 && ok2 {
			x.note += fmt.Sprintf("; run separately: ours %.0f, raw %.0f turns/s", tp, tb)
		}
		return x
	}
	x.ours, x.base = fmtIf(ok1, "%.0f turns/s", tp), fmtIf(ok2, "%.0f turns/s (10 raw pipes)", tb)
	x.ratio = ratioIf(ok1 && ok2, tp, tb)
	return x
}

func fmtIf(ok bool, format string, args ...any) string {
	if !ok {
		return notRun
	}
	return fmt.Sprintf(format, args...)
}

// also is fmtIf for a trailing part: empty when not measured.
func also(ok bool, format string, args ...any) string {
	if !ok {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

func ratioIf(ok bool, a, b float64) string {
	if !ok {
		return "–"
	}
	return ratio(a, b)
}

func render(r *Results, m Machine, cmd string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmark results\n\nGenerated by `bench/cmd/report` from the outputs of `%s`; do not edit by hand (rerun it).\n\n", cmd)
	w("- Machine: %d cores, %s, %s\n- Go: %s\n- Date: %s\n", m.Cores, m.CPU, m.OS, m.Go, m.Date)
	if m.Commit != "" {
		w("- Commit: %s\n", m.Commit)
	}
	w("- The machine is shared with other builds and tests while this runs; figures are of one run, with the baselines measured in the same run so ratios stay comparable.\n\n")
	if len(r.Failures) > 0 {
		w("## Failures\n\n")
		for _, f := range r.Failures {
			w("- `%s`\n", f)
		}
		w("\n")
	}
	w("## HotPlex's seven metrics\n\nClaimed: the figure in HotPlex's report. Rebuilt: what issue 8 measured rebuilding HotPlex on a 2-core machine. Ours: p50 / p99 from the full latency distribution where it is a latency. Baseline: the raw operation measured in the same run. Ratio: ours / baseline (p50).\n\n")
	w("| metric | claimed | rebuilt | ours | baseline (same run) | ratio | note |\n|---|---|---|---|---|---|---|\n")
	for _, x := range r.seven() {
		w("| %s | %s | %s | %s | %s | %s | %s |\n", x.metric, x.claimed, x.rebuilt, x.ours, x.base, x.ratio, x.note)
	}
	r.renderStore(w)
	r.renderAdapters(w)
	r.renderLoad(w)
	r.renderGoal(w)
	r.renderNotes(w)
	if len(r.DrillsFull) > 0 {
		w("\n## Fault drills (full size: HOTLINE_DRILL_SCALE=full, as make drills should run them)\n\n")
		for _, d := range r.DrillsFull {
			w("- %s\n", d)
		}
	}
	if len(r.Drills) > 0 {
		w("\n## Fault drills (CI size, as make test runs them)\n\n")
		for _, d := range r.Drills {
			w("- %s\n", d)
		}
	}
	return b.String()
}

type writer func(string, ...any)

func (r *Results) renderStore(w writer) {
	r.renderTurnStore(w)
	var names []string
	for n := range r.Bench {
		if strings.HasPrefix(n, "BenchmarkPut/") || strings.HasPrefix(n, "BenchmarkGet/") || strings.HasPrefix(n, "BenchmarkResilientOverhead/") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return
	}
	sort.Strings(names)
	w("\n## Session store operations\n\nOne Put is the record written at each turn boundary. `memory-baseline` is the in-memory fake, the same-run floor.\n\n| benchmark | ns/op (per-op latency, mean) | ops/s |\n|---|---|---|\n")
	for _, n := range names {
		v := r.Bench[n].Values
		w("| %s | %s | %.0f |\n", strings.TrimPrefix(n, "Benchmark"), ns(v["ns/op"]), v["ops/s"])
	}
}

// renderTurnStore shows what the per-turn record write adds to a hot turn.
func (r *Results) renderTurnStore(w writer) {
	base, b50, ok := r.lat("BenchmarkTurnStore/memory")
	if !ok {
		return
	}
	w("\n## Per-turn store latency\n\nA hot turn through the router with the session record written at the turn boundary (through Resilient), against the in-memory store in the same run.\n\n| store | turn p50 / p99 | ratio to memory (p50) |\n|---|---|---|\n| memory (baseline) | %s | 1.00× |\n", base)
	for _, n := range []string{"bolt", "redis"} {
		if l, v, ok := r.lat("BenchmarkTurnStore/" + n); ok {
			w("| %s | %s | %s |\n", n, l, ratio(v, b50))
		}
	}
}

func (r *Results) renderAdapters(w writer) {
	type ad struct{ name, bench, p50, p99, b50, b99 string }
	ads := []ad{
		{"Slack (Socket Mode event to first chat.postMessage)", "BenchmarkSocketModeToFirstPost", "p50-µs", "p99-µs", "base-p50-µs", "base-p99-µs"},
		{"Discord (gateway MESSAGE_CREATE to first POST)", "BenchmarkMessageCreateToFirstPost", "p50_us", "p99_us", "baseline_p50_us", "baseline_p99_us"},
	}
	w("\n## Adapters: event to first post (engine answers at once)\n\nBaseline: a bare slack-go / discordgo client on its own fake that posts from its handler.\n\n| adapter | ours p50 / p99 | baseline p50 / p99 | ratio (p50) |\n|---|---|---|---|\n")
	for _, a := range ads {
		p50, ok := r.get(a.bench, a.p50)
		if !ok {
			w("| %s | %s | – | – |\n", a.name, notRun)
			continue
		}
		p99, _ := r.get(a.bench, a.p99)
		b50, _ := r.get(a.bench, a.b50)
		b99, _ := r.get(a.bench, a.b99)
		w("| %s | %s / %s | %s / %s | %s |\n", a.name, us(p50), us(p99), us(b50), us(b99), ratio(p50, b50))
	}
}

func (r *Results) renderLoad(w writer) {
	if len(r.Load) == 0 {
		return
	}
	w("\n## End-to-end load (bench/load)\n\nThe Slack (or Discord) adapter, core.Router and mockcli agents in one process, driven through fakeslack over Socket Mode and the Web API (fakediscord over its gateway and REST API). Every thread is warmed with one turn first. Closed loops: each thread sends its next message as soon as the last one is answered, all threads at once, so the machine is saturated and latency includes waiting for CPU. Paced: the same warm threads, messages offered at a fixed total rate, each to the next idle thread. Prompt `STREAM:8:25`: the agent streams eight tokens 25 ms apart (about 175 ms of agent time per reply). First post: event written to the websocket until the fake receives the reply's first chat.postMessage. Agent: Submit until the agent's first text delta (the agent's own time, plus core's pipe write and read). Overhead: first post minus agent, per message — what the bridge adds. Heap and goroutines are of the whole process (bridge, fake and generator).\n\n")
	w("| platform | threads × msgs | load | msgs/s | first post p50 / p99 / p99.9 | final edit p50 / p99 / p99.9 | agent first text p50 / p99 | overhead p50 / p99 / p99.9 | edits/msg | lost | heap | goroutines | agents, total RSS |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, l := range r.Load {
		mode := "closed loops"
		if l.Rate > 0 {
			mode = fmt.Sprintf("paced %.0f/s", l.Rate)
		}
		w("| %s | %d × %d | %s | %.0f | %s | %s | %s / %s | %s | %.1f | %d | %.1f MB | %d | %d, %.0f MB |\n",
			l.Platform, l.Threads, l.Messages, mode, l.MsgsPerSec, q3(l.FirstPost), q3(l.FinalEdit), dur(l.AgentFirst.P50), dur(l.AgentFirst.P99),
			q3(l.Overhead), l.EditsPerMsg, l.Lost+l.Wrong, float64(l.HeapBytes)/(1<<20), l.Goroutines, l.Agents, float64(l.AgentRSS)/(1<<20))
	}
}

// renderGoal checks issue 8's goal on every 1000-thread run: p99 event to
// first post at most 50 ms above the agent's own time.
func (r *Results) renderGoal(w writer) {
	var lines []string
	for _, l := range r.Load {
		if l.Threads < 1000 {
			continue
		}
		verdict := "met"
		if l.Overhead.P99 > 50*time.Millisecond {
			verdict = "missed"
		}
		mode := "closed loops"
		if l.Rate > 0 {
			mode = fmt.Sprintf("paced at %.0f msgs/s", l.Rate)
		}
		lines = append(lines, fmt.Sprintf("- %s, %d threads, %s: overhead p99 %s → goal %s", l.Platform, l.Threads, mode, dur(l.Overhead.P99), verdict))
	}
	if len(lines) == 0 {
		return
	}
	w("\nGoal (issue 8): 1000 warm threads with p99 event-to-first-post at most 50 ms above the agent's own time.\n\n%s\n", strings.Join(lines, "\n"))
}

func q3(q load.Quantiles) string { return dur(q.P50) + " / " + dur(q.P99) + " / " + dur(q.P999) }
