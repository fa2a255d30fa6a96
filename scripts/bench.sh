#!/usr/bin/env bash
# bench.sh — the repeatable benchmark suite behind `make bench` (about 5–8 minutes on 2 cores):
#   1. the floor (SRTP encrypt + loopback send) and in-process fan-out (BenchmarkForward N=100/600),
#   2. the full stack (real node, real pion peers in a child process) with a CPU profile,
#   3. lesson load tests against a fresh `classcast serve --dev` on loopback,
# then ONE table with each figure and its ratio to the floor of this run or to its target.
# Knobs: OUT (default /tmp/classcast-bench), LESSON_SIZES (default "50 100"), LESSON_DURATION (20s),
# FULLSTACK_N (100), FULLSTACK_SECONDS (10), BENCHTIME (1s).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/classcast-bench}
LESSON_SIZES=${LESSON_SIZES:-50 100}
LESSON_DURATION=${LESSON_DURATION:-20s}
BENCHTIME=${BENCHTIME:-1s}
export FULLSTACK_N=${FULLSTACK_N:-100} FULLSTACK_SECONDS=${FULLSTACK_SECONDS:-10}
mkdir -p "$OUT"
rm -f "$OUT"/lesson-*.json "$OUT/bench.txt"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOADS=()
note() { LOADS+=("$1: $(loadavg)"); echo "== $1 (load $(loadavg))" >&2; }

note "build"
go test -c -o "$OUT/floor.test" ./loadtest/floor
go test -c -o "$OUT/forward.test" ./sfu/forward
go build -o "$OUT/classcast" ./cmd/classcast

note "floor + forward"
(cd loadtest/floor && "$OUT/floor.test" -test.run '^$' -test.bench 'Floor$' -test.benchtime "$BENCHTIME" -test.benchmem) | tee -a "$OUT/bench.txt"
(cd sfu/forward && "$OUT/forward.test" -test.run '^$' -test.bench 'Forward$/N=(100|600)$' -test.benchtime "$BENCHTIME" -test.benchmem) | tee -a "$OUT/bench.txt"

note "full stack N=$FULLSTACK_N"
(cd loadtest/floor && "$OUT/floor.test" -test.run '^$' -test.bench 'FullStack$' -test.benchtime 1x -test.cpuprofile "$OUT/fullstack.cpu") | tee -a "$OUT/bench.txt"
go tool pprof -top -nodecount=25 "$OUT/floor.test" "$OUT/fullstack.cpu" >"$OUT/fullstack.top" 2>/dev/null || true
go tool pprof -top -cum -nodecount=25 "$OUT/floor.test" "$OUT/fullstack.cpu" >"$OUT/fullstack.cumtop" 2>/dev/null || true

lessons=()
for n in $LESSON_SIZES; do
	note "lesson $n"
	"$OUT/classcast" serve --dev --port 0 --udp-port 0 --tcp-port 0 --log-level warn >"$OUT/serve-$n.out" 2>"$OUT/serve-$n.err" &
	srv=$!
	trap 'kill $srv 2>/dev/null || true' EXIT
	for _ in $(seq 100); do grep -q 'listening http=' "$OUT/serve-$n.err" && break; sleep 0.1; done
	port=$(grep -o 'http=127.0.0.1:[0-9]*' "$OUT/serve-$n.err" | cut -d: -f2)
	"$OUT/classcast" loadtest --url "ws://127.0.0.1:$port" --classrooms "$n" --ramp 20 --duration "$LESSON_DURATION" \
		--out "$OUT/lesson-$n.json" --html "$OUT/lesson-$n.html" | tee "$OUT/lesson-$n.txt"
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	trap - EXIT
	lessons+=("$OUT/lesson-$n.json")
done
note "done"

echo
echo "## classcast bench $(date -u +%FT%TZ), $(nproc) cores, commit $(git rev-parse --short HEAD)"
echo
go run ./loadtest/benchsummary -bench "$OUT/bench.txt" -lesson "$(IFS=,; echo "${lessons[*]}")" \
	-load "$(IFS=';'; echo "${LOADS[*]}")" | tee "$OUT/table.md"
echo
echo "Full-stack server profile (flat, top 25): $OUT/fullstack.top"
sed -n '1,18p' "$OUT/fullstack.top" 2>/dev/null || true
