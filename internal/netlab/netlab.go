// Package netlab makes a "remote classroom" on this machine: a network namespace joined to the
// caller's namespace by a veth pair, whose link can be rate-capped (tc tbf) and made lossy
// (nftables random drop). Sockets opened with ListenUDP live inside the namespace, so an
// in-process WebRTC client's media crosses the shaped link while everything else stays local.
//
// The kernels this project runs on have no netem (nor fq_codel, sfq, red, cake): tbf caps the
// rate, and loss is a random drop on the namespace's input hook — dropping on output would make
// the sender's sendto fail with EPERM, which is not a loss. Root only.
package netlab

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Lab is one namespace and its veth pair. Methods are safe for concurrent use.
type Lab struct {
	// Name is the namespace's name ("cc-<name>-<random>" shortened to what iproute2 accepts).
	Name string
	// HostIP is the veth end in the caller's namespace (bind a server here); PeerIP the end inside
	// the namespace (ListenUDP binds here).
	HostIP, PeerIP string
	// HostIface and PeerIface are the veth interface names.
	HostIface, PeerIface string

	mu     sync.Mutex
	closed bool
	loss   bool
	conns  []*net.UDPConn
}

var nameChars = regexp.MustCompile(`[^a-z0-9]`)

// New makes the namespace "cc-<name>-<random>", a veth pair with a private /30 and a default
// route in the namespace through the host end (so the namespace also reaches every other local
// address of this machine, e.g. a server bound to the machine's own address). Close removes it.
func New(name string) (*Lab, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w (running as uid %d)", ErrNotRoot, os.Geteuid())
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%w: %s (apt-get install iproute2)", ErrToolMissing, tool)
		}
	}
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("netlab: %w", err)
	}
	id := fmt.Sprintf("%02x%02x", b[0], b[1])
	short := nameChars.ReplaceAllString(strings.ToLower(name), "")
	if len(short) > 6 {
		short = short[:6]
	}
	// Interface names are limited to 15 characters: "cch"+6+4 fits.
	sub := int(b[0])%200 + 20
	l := &Lab{
		Name: "cc-" + short + id, HostIface: "cch" + short + id, PeerIface: "ccp" + short + id,
		HostIP: fmt.Sprintf("10.231.%d.%d", sub, 1+4*(int(b[1])%63)), PeerIP: fmt.Sprintf("10.231.%d.%d", sub, 2+4*(int(b[1])%63)),
	}
	steps := [][]string{
		{"ip", "netns", "add", l.Name},
		{"ip", "link", "add", l.HostIface, "type", "veth", "peer", "name", l.PeerIface},
		{"ip", "link", "set", l.PeerIface, "netns", l.Name},
		{"ip", "addr", "add", l.HostIP + "/30", "dev", l.HostIface},
		{"ip", "link", "set", l.HostIface, "up"},
		{"ip", "netns", "exec", l.Name, "ip", "addr", "add", l.PeerIP + "/30", "dev", l.PeerIface},
		{"ip", "netns", "exec", l.Name, "ip", "link", "set", l.PeerIface, "up"},
		{"ip", "netns", "exec", l.Name, "ip", "link", "set", "lo", "up"},
		{"ip", "netns", "exec", l.Name, "ip", "route", "add", "default", "via", l.HostIP},
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			_ = l.Close()
			return nil, err
		}
	}
	return l, nil
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s: %w: %s", ErrCommand, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Shape caps what reaches the namespace (the host end's egress) to rate in tc syntax, e.g.
// "300kbit" or "2mbit"; "" removes the cap. A 16 kB bucket and 200 ms of queue are roughly
// what a home router's uplink buffer holds.
func (l *Lab) Shape(rate string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if rate == "" {
		_ = exec.Command("tc", "qdisc", "del", "dev", l.HostIface, "root").Run() // absent qdisc is fine
		return nil
	}
	return run("tc", "qdisc", "replace", "dev", l.HostIface, "root", "tbf", "rate", rate, "burst", "16kb", "latency", "200ms")
}

// Loss drops pct% of the UDP packets arriving in the namespace at random (0 removes the rule).
// DNS answers are spared.
func (l *Lab) Loss(pct int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if pct < 0 || pct > 100 {
		return fmt.Errorf("%w: loss %d%% out of range", ErrCommand, pct)
	}
	if pct > 0 || l.loss {
		if _, err := exec.LookPath("nft"); err != nil {
			return fmt.Errorf("%w: nft (apt-get install nftables)", ErrToolMissing)
		}
	}
	if l.loss {
		_ = exec.Command("ip", "netns", "exec", l.Name, "nft", "delete", "table", "inet", "cc").Run()
		l.loss = false
	}
	if pct == 0 {
		return nil
	}
	steps := [][]string{
		{"ip", "netns", "exec", l.Name, "nft", "add", "table", "inet", "cc"},
		{"ip", "netns", "exec", l.Name, "nft", "add", "chain", "inet", "cc", "in", "{ type filter hook input priority 0; }"},
		{"ip", "netns", "exec", l.Name, "nft", "add", "rule", "inet", "cc", "in", "udp", "sport", "!=", "53",
			"numgen", "random", "mod", "100", "<", fmt.Sprint(pct), "drop"},
	}
	l.loss = true
	for _, s := range steps {
		if err := run(s...); err != nil {
			return err
		}
	}
	return nil
}

// ListenUDP opens a UDP socket on PeerIP (port chosen by the kernel) inside the namespace. A
// socket stays in the namespace it was made in whichever thread later uses it, so only its
// creation runs on a locked thread switched into the namespace. Close closes it.
func (l *Lab) ListenUDP() (*net.UDPConn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	conn, err := inNamespace(l.Name, func() (*net.UDPConn, error) {
		return net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(l.PeerIP)})
	})
	if err != nil {
		return nil, err
	}
	l.conns = append(l.conns, conn)
	return conn, nil
}

// inNamespace runs fn on a locked OS thread moved into the namespace ns and moves it back. If
// it cannot come back, the thread stays locked so the runtime discards it when the goroutine
// ends, rather than reusing a thread in the wrong namespace.
func inNamespace(ns string, fn func() (*net.UDPConn, error)) (*net.UDPConn, error) {
	type result struct {
		conn *net.UDPConn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("netlab: %w", err)}
			return
		}
		defer self.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("netlab: %w", err)}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("netlab: setns %s: %w", ns, err)}
			return
		}
		conn, ferr := fn()
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			if conn != nil {
				_ = conn.Close()
			}
			done <- result{err: fmt.Errorf("netlab: returning from %s: %w", ns, err)}
			return
		}
		runtime.UnlockOSThread()
		if ferr != nil {
			ferr = fmt.Errorf("netlab: listen in %s: %w", ns, ferr)
		}
		done <- result{conn, ferr}
	}()
	r := <-done
	return r.conn, r.err
}

// Close closes the sockets made by ListenUDP and deletes the veth pair and the namespace. It is
// idempotent.
func (l *Lab) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
	// Deleting one veth end deletes both; either may be missing after a partial New.
	_ = exec.Command("ip", "link", "del", l.HostIface).Run()
	if err := exec.Command("ip", "netns", "del", l.Name).Run(); err != nil {
		if _, serr := os.Stat("/run/netns/" + l.Name); serr == nil {
			return fmt.Errorf("%w: ip netns del %s: %w", ErrCommand, l.Name, err)
		}
	}
	return nil
}
