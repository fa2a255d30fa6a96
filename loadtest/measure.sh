#!/usr/bin/env bash
# measure.sh N... — one lesson load test per classroom count, each against a fresh `classcast serve
# --dev` on loopback (so memory per subscriber starts from an empty server). Reports land in
# $OUT (default /tmp/classcast-loadtest): lesson-N.json / lesson-N.html. SERVER_SRC builds the server
# from another checkout (e.g. a `git worktree` at a given commit); the load tester is built from here.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/classcast-loadtest}
DURATION=${DURATION:-30s}
RAMP=${RAMP:-10}
EXTRA=${EXTRA:-}
mkdir -p "$OUT"
go build -o "$OUT/classcast" ./cmd/classcast
(cd "${SERVER_SRC:-.}" && go build -o "$OUT/classcast-server" ./cmd/classcast)
for n in "$@"; do
	"$OUT/classcast-server" serve --dev --port 0 --udp-port 0 --tcp-port 0 --log-level warn >"$OUT/serve-$n.out" 2>"$OUT/serve-$n.err" &
	srv=$!
	trap 'kill $srv 2>/dev/null || true' EXIT
	for _ in $(seq 50); do grep -q 'listening http=' "$OUT/serve-$n.err" && break; sleep 0.1; done
	port=$(grep -o 'http=127.0.0.1:[0-9]*' "$OUT/serve-$n.err" | cut -d: -f2)
	# shellcheck disable=SC2086
	"$OUT/classcast" loadtest --url "ws://127.0.0.1:$port" --classrooms "$n" --ramp "$RAMP" --duration "$DURATION" \
		--out "$OUT/lesson-$n.json" --html "$OUT/lesson-$n.html" $EXTRA | tee "$OUT/lesson-$n.txt"
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	trap - EXIT
done
