// Package floor holds the forwarding benchmarks that are compared with the
// physical floor of this machine: BenchmarkFloor measures one SRTP
// encryption of a 1,100-byte RTP packet (AES-128-GCM and AES-CM-HMAC-SHA1-80)
// with and without a loopback UDP send, and BenchmarkFullStack measures the
// server CPU per packet forwarded by a real node to real pion subscribers,
// as a multiple of that floor measured in the same run. The package has no
// code of its own; see BENCHMARKS.md at the repository root for results.
package floor
