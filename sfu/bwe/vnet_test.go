package bwe

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

// TestVNetRealPeers runs the whole TWCC path for real: two pion
// PeerConnections (pion/webrtc v4 uses pion/transport/v5, so vnet v5) over
// a virtual router whose link into the receiver is a token bucket. The
// sender's estimator is fed by InterceptorFactory from pion's own TWCC
// header-extension stamping and the receiver's own TWCC feedback
// generator. It runs in real time (about 22 s).
func TestVNetRealPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time network test (22 s); skipped with -short")
	}
	defer goleak.VerifyNone(t)

	lf := logging.NewDefaultLoggerFactory()
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.0.0.0/24", LoggerFactory: lf})
	must(t, err)
	sfuNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.0.0.1"}})
	must(t, err)
	must(t, wan.AddNet(sfuNet))
	clientNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.0.0.2"}})
	must(t, err)
	// Everything into the client crosses a 300 kbit/s token bucket with a
	// 12 KB (≈320 ms) drop-tail queue.
	tbf := vnet.NewTBFQueue(300_000, 3_000, 12_000)
	link, err := vnet.NewQueue(clientNet, tbf)
	must(t, err)
	must(t, wan.AddNet(link))
	must(t, wan.Start())
	defer func() { _ = wan.Stop(); _ = link.Close() }()

	estCh := make(chan *Estimator, 1)
	sfuPC := newPeer(t, sfuNet, func(m *webrtc.MediaEngine, reg *interceptor.Registry) {
		m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeVideo)
		cfg := quietConfig()
		cfg.InitialBitrate = 1_000_000
		reg.Add(NewInterceptorFactory(cfg, func(_ string, e *Estimator) { estCh <- e }))
		must(t, webrtc.ConfigureTWCCHeaderExtensionSender(m, reg))
	})
	est := <-estCh
	clientPC := newPeer(t, clientNet, func(m *webrtc.MediaEngine, reg *interceptor.Registry) {
		must(t, webrtc.ConfigureTWCCSender(m, reg))
	})

	var wg sync.WaitGroup
	defer wg.Wait()
	defer func() { _ = sfuPC.Close(); _ = clientPC.Close() }()

	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "classcast")
	must(t, err)
	sender, err := sfuPC.AddTrack(track)
	must(t, err)
	wg.Add(1)
	go func() { // RTCP must be read for the interceptors to see it
		defer wg.Done()
		for {
			if _, _, err := sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	clientPC.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		}()
	})
	connect(t, sfuPC, clientPC)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var samples []sample
	start := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		sendGreedy(ctx, track, est, func(s sample) {
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
		})
	}()

	const lift = 10 * time.Second
	time.Sleep(lift)
	tbf.SetRate(1_500_000)
	time.Sleep(12 * time.Second)
	cancel()

	mu.Lock()
	r := simResult{samples: samples}
	mu.Unlock()
	below := r.firstTime(0, func(e int) bool { return e <= 300_000 })
	_, _, mean := r.stats(6*time.Second, lift)
	reach := r.firstTime(lift, func(e int) bool { return e >= 700_000 }) - lift
	_, hiAfter, meanAfter := r.stats(lift+6*time.Second, lift+12*time.Second)
	t.Logf("vnet 300 kbit/s from 1M: below 300k at %v, 6–10 s mean %d; lifted to 1.5M at 10 s: ≥700k %v later, 16–22 s mean %d max %d (ran %v)",
		below, mean, reach, meanAfter, hiAfter, time.Since(start).Round(time.Second))
	if below < 0 || below > 5*time.Second {
		t.Errorf("estimate below 300k at %v, want within 5 s", below)
	}
	if mean < 120_000 || mean > 330_000 {
		t.Errorf("6–10 s mean %d, want in [120k, 330k]", mean)
	}
	if reach < 0 {
		t.Errorf("estimate never reached 700k after the lift to 1.5M")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newPeer(t *testing.T, n *vnet.Net, setup func(*webrtc.MediaEngine, *interceptor.Registry)) *webrtc.PeerConnection {
	t.Helper()
	m := &webrtc.MediaEngine{}
	must(t, m.RegisterDefaultCodecs())
	reg := &interceptor.Registry{}
	setup(m, reg)
	se := webrtc.SettingEngine{}
	se.SetNet(n)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // no multicast on vnet
	se.SetICETimeouts(5*time.Second, 10*time.Second, 200*time.Millisecond)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)).
		NewPeerConnection(webrtc.Configuration{})
	must(t, err)
	return pc
}

func connect(t *testing.T, offerer, answerer *webrtc.PeerConnection) {
	t.Helper()
	connected := make(chan struct{})
	var once sync.Once
	offerer.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	offer, err := offerer.CreateOffer(nil)
	must(t, err)
	gathered := webrtc.GatheringCompletePromise(offerer)
	must(t, offerer.SetLocalDescription(offer))
	<-gathered
	must(t, answerer.SetRemoteDescription(*offerer.LocalDescription()))
	answer, err := answerer.CreateAnswer(nil)
	must(t, err)
	gathered = webrtc.GatheringCompletePromise(answerer)
	must(t, answerer.SetLocalDescription(answer))
	<-gathered
	must(t, offerer.SetRemoteDescription(*answerer.LocalDescription()))
	select {
	case <-connected:
	case <-time.After(20 * time.Second):
		t.Fatal("peers did not connect")
	}
}

// sendGreedy writes 1,000-byte RTP packets at the estimate (and probes at
// 1.5× it now and then, as the allocator would), sampling the estimate
// every 100 ms.
func sendGreedy(ctx context.Context, track *webrtc.TrackLocalStaticRTP, est *Estimator, record func(sample)) {
	const tick = 5 * time.Millisecond
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	payload := make([]byte, 1000)
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96}, Payload: payload}
	start := time.Now()
	last, nextSample := start, start
	var credit, probeRate float64
	var probeUntil, lastProbe, lastDecrease time.Time
	lastEst := est.Estimate()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			e := est.Estimate()
			if e < lastEst {
				lastDecrease = now
			}
			lastEst = e
			if now.After(probeUntil) && now.Sub(lastProbe) > 4*time.Second && now.Sub(lastDecrease) > 2*time.Second {
				probeRate = 1.5 * float64(e)
				est.StartProbe(int(probeRate), time.Second, now)
				probeUntil, lastProbe = now.Add(time.Second), now
			}
			rate := float64(e)
			if now.Before(probeUntil) {
				rate = max(rate, probeRate)
			}
			credit = min(credit+rate*now.Sub(last).Seconds()/8, 20_000)
			last = now
			for credit >= float64(len(payload)) {
				credit -= float64(len(payload))
				pkt.SequenceNumber++
				pkt.Timestamp += 900
				if err := track.WriteRTP(pkt); err != nil {
					return
				}
			}
			if !now.Before(nextSample) {
				record(sample{at: now.Sub(start), estimate: e})
				nextSample = nextSample.Add(100 * time.Millisecond)
			}
		}
	}
}
