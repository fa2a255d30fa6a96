package netlab

import "errors"

var (
	// ErrNotRoot is returned by New when the process cannot make network namespaces.
	ErrNotRoot = errors.New("netlab: network namespaces need root")
	// ErrToolMissing is returned when iproute2 (ip, tc) or nftables (nft) is not installed.
	ErrToolMissing = errors.New("netlab: required tool not installed")
	// ErrCommand is returned when an ip/tc/nft command fails.
	ErrCommand = errors.New("netlab: command failed")
	// ErrClosed is returned by calls on a closed Lab.
	ErrClosed = errors.New("netlab: lab closed")
)
