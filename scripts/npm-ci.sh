#!/usr/bin/env bash
# Usage: scripts/npm-ci.sh DIR...
# Runs `npm ci` in each DIR unless its node_modules already matches package-lock.json.
# npm ci always wipes node_modules, so the match is remembered in a stamp inside node_modules (it
# disappears with it): the Node version plus the lock file's hash. A warm run costs a hash per DIR.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'npm-ci: %s\n' "$*" >&2; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	log "node and npm are required (Node >= 20.19 for Vite 7); the machine image provides them"
	exit 1
fi

for dir in "$@"; do
	if [[ ! -f $dir/package-lock.json ]]; then
		log "$dir: no package-lock.json"
		exit 1
	fi
	stamp=$dir/node_modules/.classcast-install-stamp
	want="$(node --version) $(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
	if [[ -f $stamp && $(<"$stamp") == "$want" ]]; then
		log "$dir: node_modules up to date"
		continue
	fi
	log "$dir: npm ci"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
	printf '%s' "$want" >"$stamp"
done
