package floor

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// payloadSize is the RTP payload of a typical full-size video packet.
const payloadSize = 1100

var profiles = []struct {
	name string
	p    srtp.ProtectionProfile
}{
	{"GCM", srtp.ProtectionProfileAeadAes128Gcm},
	{"CM", srtp.ProtectionProfileAes128CmHmacSha1_80},
}

// floorSender is one SRTP sender: a context, a plaintext packet whose
// sequence number advances, an output buffer and (optionally) a connected
// loopback UDP socket whose peer is drained by a reader goroutine.
type floorSender struct {
	ctx   *srtp.Context
	hdr   rtp.Header
	plain []byte
	out   []byte
	conn  *net.UDPConn
	stop  func()
}

func newFloorSender(tb testing.TB, p srtp.ProtectionProfile, send bool) *floorSender {
	tb.Helper()
	keyLen, err := p.KeyLen()
	if err != nil {
		tb.Fatal(err)
	}
	saltLen, err := p.SaltLen()
	if err != nil {
		tb.Fatal(err)
	}
	key := make([]byte, keyLen)
	salt := make([]byte, saltLen)
	for i := range key {
		key[i] = byte(i + 1)
	}
	ctx, err := srtp.CreateContext(key, salt, p)
	if err != nil {
		tb.Fatal(err)
	}
	s := &floorSender{ctx: ctx, out: make([]byte, 0, 1500), stop: func() {}}
	s.hdr = rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1, Timestamp: 90000, SSRC: 0x11223344}
	pkt := rtp.Packet{Header: s.hdr, Payload: make([]byte, payloadSize)}
	if s.plain, err = pkt.Marshal(); err != nil {
		tb.Fatal(err)
	}
	if send {
		s.openSocket(tb)
	}
	return s
}

// openSocket connects a UDP socket to a loopback peer drained by a reader,
// both with the 4 MiB buffers the SFU asks for.
func (s *floorSender) openSocket(tb testing.TB) {
	tb.Helper()
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	_ = rx.SetReadBuffer(4 << 20)
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		tb.Fatal(err)
	}
	_ = tx.SetWriteBuffer(4 << 20)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, err := rx.Read(buf); errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	s.conn = tx
	s.stop = func() {
		_ = tx.Close()
		_ = rx.Close()
		wg.Wait()
	}
}

// one encrypts the next packet and, with a socket, sends it.
func (s *floorSender) one() {
	s.hdr.SequenceNumber++
	s.plain[2], s.plain[3] = byte(s.hdr.SequenceNumber>>8), byte(s.hdr.SequenceNumber)
	out, err := s.ctx.EncryptRTP(s.out[:0], s.plain, &s.hdr)
	if err != nil {
		panic(err)
	}
	if s.conn != nil {
		// ECONNREFUSED/ENOBUFS on loopback are not expected; a failed send
		// still cost its syscall, which is what is measured.
		_, _ = s.conn.Write(out)
	}
}

// threadCPU is the CPU time of the calling OS thread (lock it first).
func threadCPU() int64 {
	var ru syscall.Rusage
	const rusageThread = 1
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkFloor is the floor of forwarding one packet: one SRTP
// encryption of a 1,100-byte payload, and that plus a send on a loopback UDP
// socket whose peer a reader goroutine drains. ns/op is wall time;
// sender-cpu-ns/pkt is the sending thread's own CPU (the reader's is the
// receiver's cost, not the sender's).
func BenchmarkFloor(b *testing.B) {
	for _, pr := range profiles {
		for _, send := range []bool{false, true} {
			name := pr.name + "/encrypt"
			if send {
				name += "+send"
			}
			b.Run(name, func(b *testing.B) {
				s := newFloorSender(b, pr.p, send)
				defer s.stop()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.ReportAllocs()
				b.SetBytes(int64(len(s.plain)))
				cpu0 := threadCPU()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					s.one()
				}
				b.StopTimer()
				b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "sender-cpu-ns/pkt")
			})
		}
	}
}

// measureFloor returns the sending thread's CPU per packet for n
// encryptions plus sends: the floor the full-stack figure is divided by.
func measureFloor(tb testing.TB, p srtp.ProtectionProfile, n int) float64 {
	s := newFloorSender(tb, p, true)
	defer s.stop()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := 0; i < 1000; i++ {
		s.one()
	}
	cpu0 := threadCPU()
	for i := 0; i < n; i++ {
		s.one()
	}
	return float64(threadCPU()-cpu0) / float64(n)
}
