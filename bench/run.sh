#!/usr/bin/env bash
# bench/run.sh (make bench): runs every benchmark, the load generator and the
# fault drills at CI size, then rewrites bench/RESULTS.md from their outputs
# with bench/cmd/report. Sized to finish in about ten minutes on 2 cores.
# Any failed benchmark or drill is listed at the top of RESULTS.md and makes
# this script exit non-zero.
#
# Knobs (environment): BENCH_LOAD_THREADS (default 10,100,1000),
# BENCH_LOAD_MESSAGES (5), BENCH_LOAD_RATE (100 msgs/s for the paced run),
# BENCH_SKIP_DRILLS=1, BENCH_FULL_DRILLS=1 (also the drills at full size),
# BENCH_OUT (keep the raw outputs in this directory instead of a temporary one).
set -uo pipefail
cd "$(dirname "$0")/.."

: "${HOTLINE_MOCKCLI:?set HOTLINE_MOCKCLI to a built mockcli (make bench does)}"
export HOTLINE_MOCKCLI
GO=${GO:-go}
out=${BENCH_OUT:-$(mktemp -d -t hotline-bench-XXXXXX)}
mkdir -p "$out"
status=0

step() { # step NAME CMD...: run CMD, output to $out/NAME, note failures
	local name=$1; shift
	echo "== $name: $*" >&2
	if ! "$@" >"$out/$name" 2>&1; then
		echo "   FAILED (see $out/$name)" >&2
		echo "FAIL: step $name failed: $*" >>"$out/steps.txt"
		status=1
	fi
}

bench() { # bench NAME PKG REGEX BENCHTIME
	step "$1.txt" "$GO" test -run '^$' -bench "$3" -benchtime "$4" -count 1 -timeout 30m "$2"
}

bench engine-hot    ./bench 'HotTurn|Throughput10$' 3000x
bench engine-tp     ./bench 'Throughput10VsRaw' 10000x
bench engine-event  ./bench 'EventCallback' 2000000x
bench engine-cold   ./bench 'ColdStart' 300x
bench engine-mem    ./bench 'WarmSessionMemory' 1x
bench engine-store  ./bench 'TurnStore' 2000x
bench engine-create ./bench 'ConcurrentCreate5000' 1x
bench waf           ./waf 'CheckBenign$|CheckBenignParsed$|NaiveRegexLoop$' 1s
bench store         ./sessionstore 'Put|Get|ResilientOverhead' 2000x
[ -d adapters/slack ] && bench slack ./adapters/slack 'SocketModeToFirstPost' 300x
[ -d adapters/discord ] && bench discord ./adapters/discord 'MessageCreateToFirstPost' 300x

"$GO" build -o "$out/loadgen" ./bench/load/cmd/loadgen || status=1
# Closed loops: every thread sends its next message as soon as the last is
# answered, all at once (saturation). Paced: the same warm threads, messages
# offered at a fixed total rate below saturation.
step load-closed.jsonl "$out/loadgen" -threads "${BENCH_LOAD_THREADS:-10,100,1000}" \
	-messages "${BENCH_LOAD_MESSAGES:-5}" -mockcli "$HOTLINE_MOCKCLI"
step load-paced.jsonl "$out/loadgen" -threads 1000 -messages 2 -rate "${BENCH_LOAD_RATE:-100}" -mockcli "$HOTLINE_MOCKCLI"
if [ "${BENCH_SKIP_DRILLS:-}" != 1 ]; then
	step drills.txt "$GO" test -count 1 -timeout 20m -run 'Drill' -v ./bench/drills/
fi
if [ "${BENCH_FULL_DRILLS:-}" = 1 ]; then # about two more minutes
	step drills-full.txt env HOTLINE_DRILL_SCALE=full "$GO" test -count 1 -timeout 20m -run 'Drill' -v ./bench/drills/
fi
# loadgen's human summary went to the same file as its JSON; split it.
for f in "$out"/load-*.jsonl; do
	[ -f "$f" ] || continue
	grep -v '^{' "$f" >"${f%.jsonl}.log" || true
	grep '^{' "$f" >"$f.tmp" || true
	mv "$f.tmp" "$f"
done

cmd="make bench  (bench/run.sh: go test -run '^\$' -bench … -benchtime 3000x/10000x/2000000x/300x/1x/1s/2000x per group, loadgen -threads ${BENCH_LOAD_THREADS:-10,100,1000} -messages ${BENCH_LOAD_MESSAGES:-5}, loadgen -threads 1000 -messages 2 -rate ${BENCH_LOAD_RATE:-100}, go test -run Drill -v ./bench/drills/$([ "${BENCH_FULL_DRILLS:-}" = 1 ] && echo ', HOTLINE_DRILL_SCALE=full go test -run Drill -v ./bench/drills/'))"
"$GO" run ./bench/cmd/report -dir "$out" -out bench/RESULTS.md -cmd "$cmd" || status=1
echo "raw outputs in $out" >&2
exit $status
