package cascade

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/sfu/track"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var testSecret = []byte("classcast-test-cluster-secret-0123")

// testCA is a cluster CA made by the test.
type testCA struct {
	cert *x509.Certificate
	key  ed25519.PrivateKey
	pem  []byte
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) auth(t testing.TB, nodeID string) Auth {
	t.Helper()
	leaf, err := issueLeaf(ca.cert, ca.key, nodeID)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return Auth{
		CACertPEM: ca.pem,
		CertPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}),
		KeyPEM:    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// fakeOrigin is the parent-side core: Upstream + PacketSource. publish
// writes a packet to every attached sink of a layer and caches it.
type fakeOrigin struct {
	mu        sync.Mutex
	sinks     map[string]track.RTPWriter // "sid/layer"
	atts      map[string]*fakeAttachment
	cache     map[string][]byte // "sid/layer/seq"
	keyframes map[string]int
	nacked    int
}

func newFakeOrigin() *fakeOrigin {
	return &fakeOrigin{sinks: map[string]track.RTPWriter{}, atts: map[string]*fakeAttachment{},
		cache: map[string][]byte{}, keyframes: map[string]int{}}
}

var errNoTrack = errors.New("no such track")

func (o *fakeOrigin) TrackInfo(room, sid string) (track.Info, error) {
	if sid == "TR_missing" {
		return track.Info{}, errNoTrack
	}
	return track.Info{SID: sid, Name: "camera", Kind: webrtc.RTPCodecTypeVideo, Simulcast: true,
		Codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "video/VP8", ClockRate: 90000}}}, nil
}

func (o *fakeOrigin) AttachLayer(room, sid string, layer int, w track.RTPWriter) (LayerAttachment, error) {
	key := fmt.Sprintf("%s/%d", sid, layer)
	o.mu.Lock()
	defer o.mu.Unlock()
	a := &fakeAttachment{o: o, key: key}
	o.sinks[key], o.atts[key] = w, a
	return a, nil
}

func (o *fakeOrigin) ReadPacket(sid string, layer int, seq uint16, buf []byte) (int, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nacked++
	p, ok := o.cache[fmt.Sprintf("%s/%d/%d", sid, layer, seq)]
	if !ok {
		return 0, false
	}
	return copy(buf, p), true
}

func (o *fakeOrigin) attached(sid string, layer int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.sinks[fmt.Sprintf("%s/%d", sid, layer)]
	return ok
}

func (o *fakeOrigin) keyframeCount(sid string, layer int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.keyframes[fmt.Sprintf("%s/%d", sid, layer)]
}

func (o *fakeOrigin) publish(sid string, layer int, seq uint16, payload []byte) {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq,
		Timestamp: uint32(seq) * 3000, SSRC: 0x1234 + uint32(layer)}, Payload: payload}
	raw, _ := p.Marshal()
	key := fmt.Sprintf("%s/%d", sid, layer)
	o.mu.Lock()
	o.cache[fmt.Sprintf("%s/%d/%d", sid, layer, seq)] = raw
	w := o.sinks[key]
	o.mu.Unlock()
	if w != nil {
		_, _ = w.WriteRTP(&p.Header, p.Payload)
	}
}

type fakeAttachment struct {
	o   *fakeOrigin
	key string
}

func (a *fakeAttachment) RequestKeyframe() {
	a.o.mu.Lock()
	a.o.keyframes[a.key]++
	a.o.mu.Unlock()
}

func (a *fakeAttachment) Close() {
	a.o.mu.Lock()
	if a.o.atts[a.key] == a {
		delete(a.o.sinks, a.key)
		delete(a.o.atts, a.key)
	}
	a.o.mu.Unlock()
}

// fakeProducer is the child-side core's mirror of the track.
type fakeProducer struct {
	mu      sync.Mutex
	seen    [maxLayers]map[uint16]int
	payload int
	onKF    func(layer int)
	closed  bool
}

func newFakeProducer() *fakeProducer {
	p := &fakeProducer{}
	for i := range p.seen {
		p.seen[i] = map[uint16]int{}
	}
	return p
}

func (p *fakeProducer) WriteRTP(layer int, pkt *rtp.Packet) error {
	p.mu.Lock()
	p.seen[layer][pkt.SequenceNumber]++
	p.payload += len(pkt.Payload)
	p.mu.Unlock()
	return nil
}

func (p *fakeProducer) OnKeyframeRequest(f func(layer int)) { p.onKF = f }
func (p *fakeProducer) Close()                              { p.mu.Lock(); p.closed = true; p.mu.Unlock() }

func (p *fakeProducer) distinct(layer int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen[layer])
}

func (p *fakeProducer) has(layer int, seq uint16) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[layer][seq] > 0
}

func (p *fakeProducer) dups() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.seen {
		for _, c := range m {
			n += c - 1
		}
	}
	return n
}

func eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (e *eventLog) HandleEvent(from string, ev Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *eventLog) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.evs)
}

func (e *eventLog) last() Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.evs[len(e.evs)-1]
}
