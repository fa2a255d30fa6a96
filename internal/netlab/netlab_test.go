package netlab_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/netlab"
	"github.com/classcast/classcast/internal/netlab/netlabtest"
)

func TestNotRootIsAClearError(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: the not-root path cannot be exercised")
	}
	if _, err := netlab.New("x"); !errors.Is(err, netlab.ErrNotRoot) {
		t.Fatalf("New as non-root: %v", err)
	}
}

// TestLabCarriesShapesAndCleansUp: a socket made inside the namespace reaches a socket on the
// host end, a 5% loss rule really drops packets, and Close removes the namespace.
func TestLabCarriesShapesAndCleansUp(t *testing.T) {
	lab := netlabtest.New(t, "unit")
	host, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(lab.HostIP)})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	inside := lab.ListenUDP()
	if got := inside.LocalAddr().(*net.UDPAddr).IP.String(); got != lab.PeerIP {
		t.Fatalf("namespace socket on %s, want %s", got, lab.PeerIP)
	}
	// Host → namespace under 30% loss: the loss rule is on the namespace's input.
	lab.Shape("10mbit")
	lab.Loss(30)
	const n = 400
	for i := range n {
		if _, err := host.WriteToUDP([]byte{byte(i)}, inside.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	buf := make([]byte, 64)
	_ = inside.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	for {
		if _, _, err := inside.ReadFromUDP(buf); err != nil {
			break
		}
		got++
	}
	if got == 0 || got >= n {
		t.Errorf("received %d of %d packets with a 30%% loss rule", got, n)
	}
	t.Logf("30%% loss rule: %d of %d arrived", got, n)
	lab.Loss(0)
	lab.Shape("")
	// Namespace → host works too (the route back through the veth).
	if _, err := inside.WriteToUDP([]byte("hi"), host.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	_ = host.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := host.ReadFromUDP(buf); err != nil {
		t.Fatalf("namespace → host: %v", err)
	}
	name := lab.Name
	if err := lab.Lab.Close(); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("ip", "netns", "list").Output(); containsWord(string(out), name) {
		t.Errorf("namespace %s still listed after Close", name)
	}
	if err := lab.Lab.Shape("1mbit"); !errors.Is(err, netlab.ErrClosed) {
		t.Errorf("Shape after Close: %v", err)
	}
}

func containsWord(s, w string) bool {
	for len(s) >= len(w) {
		i := 0
		for i < len(s) && s[i] != '\n' && s[i] != ' ' {
			i++
		}
		if s[:i] == w {
			return true
		}
		if i == len(s) {
			return false
		}
		s = s[i+1:]
	}
	return false
}
