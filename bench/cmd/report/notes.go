package main

// renderNotes says what the figures mean where a reader could be misled,
// with the numbers of this run.
func (r *Results) renderNotes(w writer) {
	w("\n## Reading these figures\n\n")
	if raw, ok := r.get("BenchmarkHotTurnVsRaw", "raw-p50-µs"); ok {
		ro, _ := r.get("BenchmarkHotTurnVsRaw", "router-p50-µs")
		w("- **Hot multiplex.** One turn is a write to the agent's stdin and the stream-json lines back until `result`. The bare pipe ping-pong to the same mockcli binary takes %s (p50) on this machine, so a figure of 2.85 µs cannot be one turn through a child process; the router adds %s on top of the raw pipe (parsing every line, Responder callbacks, the turn timer, the in-flight record). A routed turn is timed from Submit until the Responder's Done is called, the point where the raw loop sees its result line: an adapter's Done posts the reply on that goroutine. The benchmark's own goroutine, woken by Done, resumes one hand-off later (the caller figure in the note).\n", us(raw), us(ro-raw))
	}
	if one, ok := r.get("BenchmarkHotTurnVsRawOneP", "p50-ratio"); ok {
		two, _ := r.get("BenchmarkHotTurnVsRaw", "p50-ratio")
		w("- **Where the hot-turn overhead goes.** The same loop with GOMAXPROCS=1 (`BenchmarkHotTurnVsRawOneP`) gives %.2f× against %.2f× with both cores; the difference is what waking a second OS thread for a goroutine hand-off costs on this VM. The rest is work: parsing every stream-json line of the turn (about 8 KB; `BenchmarkParseEvent` reads about 1 GB/s), the Responder callbacks and the in-flight record. A warm turn is written by the caller and finished by the agent's reader goroutine, which calls Done. Two costs that were not work are gone: a runtime timer per turn (the turn timeout and the store write's deadline; adding a timer due before all others wakes the runtime's network poller on another thread), now one shared timer each; and the scheduler's bookkeeping on every pipe read, which woke the runtime's monitor thread (the reader reads its non-blocking pipe with a raw system call).\n", one, two)
	}
	if raw, ok := r.get("BenchmarkColdStart/raw-spawn", "p50-µs"); ok {
		w("- **Cold start** is fork/exec of the agent plus its start-up and first reply; the bare exec of the same binary takes %s (p50). With the real Claude Code CLI the agent's own start-up dominates and the bridge's share stays what the ratio shows.\n", us(raw))
	}
	if gb, ok := r.get("BenchmarkWarmSessionMemory", "go-bytes/session"); ok {
		w("- **Memory per session** counts the bridge's Go heap and goroutine stacks after a full GC, %.1f KB per warm session; the agent process it keeps warm costs far more (its RSS is in the baseline column). 2.1 KB is below what one goroutine stack plus a pipe reader buffer take.\n", gb/1024)
	}
	w("- **WAF and event callback** are means over b.N: one sub-microsecond operation cannot be timed alone without the clock dominating. The event callback's dispatch step allocates nothing; the 1 alloc per event is ParseEvent copying the delta text out of the line, which must outlive it.\n")
	w("- **Load, closed loops at 1000 threads** offer all 1000 messages at once to 1000 agent processes on 2 cores, which also run the fake platform and the generator; every figure then includes waiting for CPU. The paced rows offer the same warm threads a steady rate instead; compare their overhead with the goal.\n")
	w("- **Discord done markers.** discordgo allows one reaction request per 200 ms per channel (as Discord does), and the adapter sets the done reaction after `Done` on a tracked goroutine, so a thread's next turn does not wait for it, but the markers of one channel queue behind each other. A message counts as answered here when its marker is set; the generator opens at most %d threads per channel, because with all 1000 opened in one channel the opening messages' markers trail by minutes (about five per second) and so does every thread's second turn.\n", 10)
}
