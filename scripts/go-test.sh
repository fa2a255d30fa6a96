#!/usr/bin/env bash
# Runs `go test -race ./...` for `make test`. Integration tests here drive real peers, real
# shaped links and real processes on a 2-core box, where a neighbour package's CPU burst can
# starve a timing-sensitive test. A failed test is therefore run once more, alone (gotestsum
# --rerun-fails); a test that fails twice fails the build, and every rerun is listed at the end
# as FLAKY so it gets fixed rather than forgotten. Set GO_TEST_RERUNS=0 to disable reruns.
set -euo pipefail
cd "$(dirname "$0")/.."

GOTESTSUM_VERSION=v1.13.0
reruns=${GO_TEST_RERUNS:-1}
report=${GO_TEST_REPORT:-tmp/go-test.json}
mkdir -p "$(dirname "$report")"

status=0
go run "gotest.tools/gotestsum@${GOTESTSUM_VERSION}" \
	--format standard-quiet \
	--jsonfile "$report" \
	--rerun-fails="$reruns" --rerun-fails-max-failures=5 \
	--packages="${GO_TEST_PACKAGES:-./...}" \
	-- -race -timeout 25m "$@" || status=$?

# Tests that failed at least once (and so were rerun).
if command -v python3 >/dev/null; then
	python3 - "$report" <<'PY'
import json, sys
failed, passed = {}, set()
for line in open(sys.argv[1]):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if not ev.get("Test"):
        continue
    key = (ev["Package"], ev["Test"])
    if ev.get("Action") == "fail":
        failed[key] = failed.get(key, 0) + 1
    elif ev.get("Action") == "pass":
        passed.add(key)
for (pkg, test), n in sorted(failed.items()):
    if key_passed := (pkg, test) in passed:
        print(f"FLAKY: {pkg} {test} failed {n} time(s), then passed on rerun")
    else:
        print(f"FAILED: {pkg} {test} ({n} time(s))")
PY
fi
exit "$status"
