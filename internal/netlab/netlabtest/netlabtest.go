// Package netlabtest adapts netlab to tests: the lab is removed at the test's end, a machine
// that cannot make namespaces (not root, no iproute2 or nftables) skips the test, and any other
// failure fails it.
package netlabtest

import (
	"errors"
	"net"
	"testing"

	"github.com/classcast/classcast/internal/netlab"
)

// Lab wraps a netlab.Lab so shaping failures fail the test instead of returning errors.
type Lab struct {
	*netlab.Lab
	tb testing.TB
}

// New makes a lab for tb and removes it when tb ends.
func New(tb testing.TB, name string) *Lab {
	tb.Helper()
	l, err := netlab.New(name)
	if err != nil {
		if skippable(err) {
			tb.Skipf("%v (CI runs as root with iproute2 and nftables)", err)
		}
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Error(err)
		}
	})
	return &Lab{Lab: l, tb: tb}
}

func skippable(err error) bool {
	return errors.Is(err, netlab.ErrNotRoot) || errors.Is(err, netlab.ErrToolMissing)
}

// Shape is netlab.Lab.Shape, failing the test on error.
func (l *Lab) Shape(rate string) {
	l.tb.Helper()
	if err := l.Lab.Shape(rate); err != nil {
		l.tb.Fatal(err)
	}
}

// Loss is netlab.Lab.Loss; it skips the test when nftables is missing.
func (l *Lab) Loss(pct int) {
	l.tb.Helper()
	if err := l.Lab.Loss(pct); err != nil {
		if skippable(err) {
			l.tb.Skip(err)
		}
		l.tb.Fatal(err)
	}
}

// ListenUDP is netlab.Lab.ListenUDP, failing the test on error; the socket closes with the lab.
func (l *Lab) ListenUDP() *net.UDPConn {
	l.tb.Helper()
	c, err := l.Lab.ListenUDP()
	if err != nil {
		l.tb.Fatal(err)
	}
	return c
}
