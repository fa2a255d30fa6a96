package cascade

import (
	"testing"
	"time"

	"github.com/classcast/classcast/sfu/cascade/cascadetest"
)

// TestLossRecoveryThroughLossyRelay: 10% seeded loss each way and 100 ms
// one-way delay (200 ms RTT). NACKs answered from the parent's cache must
// bring unrecovered loss at the child's producer under 1%.
func TestLossRecoveryThroughLossyRelay(t *testing.T) {
	origin := newFakeOrigin()
	srv, err := Listen(ServerConfig{NodeID: "origin-1", Addr: "127.0.0.1:0", Auth: Auth{ClusterSecret: testSecret},
		Upstream: origin, Packets: origin, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	relay, err := cascadetest.NewLossyRelay(srv.Addr().String(), 0.10, 100*time.Millisecond, 42)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	link, err := Dial(LinkConfig{NodeID: "edge-1", ParentAddr: relay.Addr(), Auth: Auth{ClusterSecret: testSecret}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()

	prod := newFakeProducer()
	sub, _ := link.Subscribe("room-1", "TR_mic", []int{0}, prod)
	select {
	case <-sub.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("no subscription through the lossy relay")
	}
	eventually(t, "attached", 5*time.Second, func() bool { return origin.attached("TR_mic", 0) })

	const measured, tail = 1000, 50
	payload := make([]byte, 160)                  // Opus-sized
	tick := time.NewTicker(10 * time.Millisecond) // 100 packets/s: see DESIGN.md on congestion control
	defer tick.Stop()
	for i := range measured + tail {
		<-tick.C
		origin.publish("TR_mic", 0, uint16(i), payload)
	}
	// Let retries finish: several RTTs.
	time.Sleep(1500 * time.Millisecond)

	got := 0
	for i := range measured {
		if prod.has(0, uint16(i)) {
			got++
		}
	}
	lost := measured - got
	rate := float64(lost) / measured
	st := sub.Stats(0)
	dropped, passed := relay.Stats()
	t.Logf("parent send stats %+v", srv.Stats())
	t.Logf("relay dropped %d/%d datagrams; recovered %d; unrecovered %d/%d = %.2f%%; NACKed seqs answered %d; rtt %v; dups %d",
		dropped, dropped+passed, st.Recovered, lost, measured, 100*rate, origin.nacked, link.RTT(), prod.dups())
	if st.Recovered == 0 {
		t.Fatal("nothing recovered: the relay did not drop or NACK does not work")
	}
	if rate >= 0.01 {
		t.Fatalf("unrecovered loss %.2f%% ≥ 1%%", 100*rate)
	}
	if prod.dups() != 0 {
		t.Fatalf("%d duplicates reached the producer", prod.dups())
	}
}
