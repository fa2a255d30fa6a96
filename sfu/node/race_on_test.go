//go:build race

package node

// raceBuild: the race detector slows every pion stack several times over, and
// on a shared 2-core runner that reads as queueing delay to the bandwidth
// estimator. Shaped-link checks that are about the estimator's judgement are
// strict without it and only bound generously with it.
const raceBuild = true
