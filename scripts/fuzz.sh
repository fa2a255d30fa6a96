#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [package pattern...]   (default ./...)
# Runs every Fuzz target for FUZZTIME (default 10s) each, one at a time: `go test -fuzz` accepts a
# single target per run. New crashers land in the package's testdata/fuzz/ as usual.
#
# FUZZMINIMIZETIME (default 1000x) bounds how long each new input is minimized. Go's default, 60s
# per input, stalls targets whose every call is expensive: FuzzWHIPOffer negotiates a real pion
# peer connection (~1ms) and minimizing a 600-byte offer tries ~10^5 candidates, so each new
# coverage-expanding input froze the run ("execs: N (0/sec)") for a full minute.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime=${FUZZTIME:-10s}
minimizetime=${FUZZMINIMIZETIME:-1000x}
patterns=("$@")
((${#patterns[@]})) || patterns=(./...)

# `go test -list` prints matching names, then "ok <pkg> <time>" for each package with tests.
mapfile -t targets < <(
	go test -list '^Fuzz' "${patterns[@]}" |
		awk '/^Fuzz/ { names[n++] = $1; next } /^ok/ { for (i = 0; i < n; i++) print $2, names[i] } { n = 0 }'
)

if ((${#targets[@]} == 0)); then
	echo "fuzz: no Fuzz targets in ${patterns[*]}"
	exit 0
fi

failed=0
for target in "${targets[@]}"; do
	read -r pkg name <<<"$target"
	echo "fuzz: $pkg $name for $fuzztime"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "$pkg" ||
		failed=$((failed + 1))
done
echo "fuzz: ${#targets[@]} targets, $failed failed"
((failed == 0))
