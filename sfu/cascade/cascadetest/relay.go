// Package cascadetest holds test tools for cascade links that other
// packages' tests reuse: a userspace lossy UDP relay (the test machines have
// no netem).
package cascadetest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// LossyRelay sits between one child and its parent: it drops a seeded
// fraction of datagrams in both directions and delays the rest by a fixed
// one-way delay. The child dials Addr instead of the parent.
type LossyRelay struct {
	front  *net.UDPConn // the child talks to this
	back   *net.UDPConn // this talks to the parent
	parent *net.UDPAddr
	delay  time.Duration

	mu      sync.Mutex
	loss    float64
	rng     *rand.Rand
	child   *net.UDPAddr
	dropped int
	passed  int

	wg sync.WaitGroup
}

type delayed struct {
	at   time.Time
	data []byte
	to   func([]byte)
}

// NewLossyRelay starts a relay on a free loopback port toward parent.
func NewLossyRelay(parent string, loss float64, delay time.Duration, seed uint64) (*LossyRelay, error) {
	pa, err := net.ResolveUDPAddr("udp", parent)
	if err != nil {
		return nil, fmt.Errorf("cascadetest: parent %q: %w", parent, err)
	}
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("cascadetest: listen: %w", err)
	}
	back, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		_ = front.Close()
		return nil, fmt.Errorf("cascadetest: listen: %w", err)
	}
	_ = front.SetReadBuffer(4 << 20)
	_ = back.SetReadBuffer(4 << 20)
	r := &LossyRelay{front: front, back: back, parent: pa, loss: loss, delay: delay,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	toChild := make(chan delayed, 65536)
	toParent := make(chan delayed, 65536)
	r.wg.Add(4)
	go r.pump(front, toParent, func(b []byte) { _, _ = back.WriteToUDP(b, pa) }, true)
	go r.pump(back, toChild, func(b []byte) {
		r.mu.Lock()
		c := r.child
		r.mu.Unlock()
		if c != nil {
			_, _ = front.WriteToUDP(b, c)
		}
	}, false)
	go r.deliver(toParent)
	go r.deliver(toChild)
	return r, nil
}

// Addr is the address the child should dial.
func (r *LossyRelay) Addr() string { return r.front.LocalAddr().String() }

// SetLoss changes the drop probability.
func (r *LossyRelay) SetLoss(p float64) {
	r.mu.Lock()
	r.loss = p
	r.mu.Unlock()
}

// Stats returns datagrams dropped and passed so far (both directions).
func (r *LossyRelay) Stats() (dropped, passed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped, r.passed
}

// Close stops the relay and waits for its goroutines.
func (r *LossyRelay) Close() {
	_ = r.front.Close()
	_ = r.back.Close()
	r.wg.Wait()
}

func (r *LossyRelay) pump(c *net.UDPConn, out chan<- delayed, send func([]byte), fromChild bool) {
	defer r.wg.Done()
	defer close(out)
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		if fromChild {
			r.child = from
		}
		drop := r.rng.Float64() < r.loss
		if drop {
			r.dropped++
		} else {
			r.passed++
		}
		r.mu.Unlock()
		if drop {
			continue
		}
		select {
		case out <- delayed{at: time.Now().Add(r.delay), data: append([]byte(nil), buf[:n]...), to: send}:
		default: // relay queue full: counts as loss
		}
	}
}

// deliver sends in arrival order once each packet's time has come: with a
// constant delay, FIFO is time order.
func (r *LossyRelay) deliver(in <-chan delayed) {
	defer r.wg.Done()
	for d := range in {
		time.Sleep(time.Until(d.at))
		d.to(d.data)
	}
}
