#!/usr/bin/env bash
# Installs everything `make test` needs on a Debian 12 machine: the real peers the tests drive
# (Chromium, ffmpeg, GStreamer, gst-rtsp-server), network tools for shaped-link tests, and the npm
# dependencies of tests/browser and web.
#
# Idempotent and quick when warm: Debian packages are installed only when dpkg says they are missing,
# `apt-get update` runs at most once per invocation and only when something is missing, and `npm ci`
# runs only when package-lock.json changed since the last install (scripts/npm-ci.sh).
# Runs without a TTY (CI=true, no stdin). Installing needs root; a non-root user gets sudo if it exists.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'install-test-deps: %s\n' "$*" >&2; }

# Packages the tests use, by test family. Keep this list the single source of truth.
APT_PACKAGES=(
	# browser tests (tests/browser): Debian's Chromium driven by playwright-core; fonts for screenshots
	chromium chromium-driver fonts-liberation fonts-noto-cjk
	# real RTSP/file peers and recording validation
	ffmpeg
	# GStreamer peers: webrtcbin WHIP publisher, rtspclientsink, rtspsrc
	gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
	gstreamer1.0-libav gstreamer1.0-nice gstreamer1.0-rtsp
	# an independent RTSP server for pull tests, through /usr/bin/python3
	python3-gi gir1.2-gst-rtsp-server-1.0
	# network namespaces, veth, tbf/htb shaping, random loss
	iproute2 nftables
)

NPM_DIRS=(tests/browser web)

# A real S3-compatible server for the object storage tests (recorder/storage): versitygw, built
# from the Go module proxy (~2 min cold on 2 cores). Pinned, so the check below stays a no-op
# once that version is in $(go env GOPATH)/bin.
VERSITYGW_VERSION=v1.8.0

is_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_apt_packages() {
	local missing=() pkg
	for pkg in "${APT_PACKAGES[@]}"; do
		is_installed "$pkg" || missing+=("$pkg")
	done
	if ((${#missing[@]} == 0)); then
		log "Debian packages: all ${#APT_PACKAGES[@]} present"
		return
	fi

	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || { log "need root (or sudo) to install: ${missing[*]}"; exit 1; }
		sudo=(sudo -n env DEBIAN_FRONTEND=noninteractive)
	fi

	log "Debian packages missing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Other developers may be running apt on the same machine: wait for the lock instead of failing.
	local apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -o Dpkg::Use-Pty=0 -qq)
	"${sudo[@]}" apt-get "${apt_opts[@]}" update
	# --no-install-recommends keeps a cold install to what the tests use (Chromium alone would pull
	# ~300 MB of recommends otherwise).
	if ! "${sudo[@]}" apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"; then
		# A concurrent apt run on a shared machine (e.g. its `apt-get clean`) can pull archives away
		# mid-install; finish whatever dpkg left half-done and try once more.
		log "apt-get install failed; repairing dpkg state and retrying once"
		"${sudo[@]}" dpkg --force-confdef --force-confold --configure -a || true
		"${sudo[@]}" apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"
	fi
}

install_versitygw() {
	local bin
	bin="$(go env GOPATH)/bin/versitygw"
	if [[ -x $bin ]] && go version -m "$bin" 2>/dev/null | grep -q "mod[[:space:]]*github.com/versity/versitygw[[:space:]]*${VERSITYGW_VERSION}"; then
		log "versitygw ${VERSITYGW_VERSION}: present"
		return
	fi
	log "installing versitygw ${VERSITYGW_VERSION} into $(go env GOPATH)/bin"
	# Outside the module: its dependencies must not touch this repository's go.mod.
	(cd / && GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@${VERSITYGW_VERSION}")
}

main() {
	install_apt_packages
	install_versitygw
	scripts/npm-ci.sh "${NPM_DIRS[@]}"
}

main "$@"
