package cascade

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// refused asserts that a link configured with auth never comes up against
// srv and that srv never registers it as a child.
func refused(t *testing.T, srv *Server, auth Auth) {
	t.Helper()
	link, err := Dial(LinkConfig{NodeID: "intruder", ParentAddr: srv.Addr().String(), Auth: auth, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if link.Connected() || len(srv.Children()) > 0 {
			t.Fatal("unauthenticated link was accepted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAuthRefusals(t *testing.T) {
	ca := newTestCA(t)
	otherCA := newTestCA(t)
	origin := newFakeOrigin()

	t.Run("wrong cluster secret", func(t *testing.T) {
		srv, err := Listen(ServerConfig{NodeID: "origin-1", Addr: "127.0.0.1:0", Auth: Auth{ClusterSecret: testSecret}, Upstream: origin, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		refused(t, srv, Auth{ClusterSecret: []byte("not-the-cluster-secret-at-all!!")})
	})

	t.Run("certificate from another CA", func(t *testing.T) {
		srv, err := Listen(ServerConfig{NodeID: "origin-1", Addr: "127.0.0.1:0", Auth: ca.auth(t, "origin-1"), Upstream: origin, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		foreign := otherCA.auth(t, "edge-9")
		foreign.CACertPEM = ca.pem // it even trusts our CA; its own cert still fails
		refused(t, srv, foreign)
	})

	t.Run("no client certificate", func(t *testing.T) {
		srv, err := Listen(ServerConfig{NodeID: "origin-1", Addr: "127.0.0.1:0", Auth: ca.auth(t, "origin-1"), Upstream: origin, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		conn, err := quic.DialAddr(ctx, srv.Addr().String(),
			&tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}, MinVersion: tls.VersionTLS13}, //nolint:gosec // the attacker's side
			quicConfig())
		if err == nil {
			// TLS 1.3: the client may finish before the server rejects it;
			// the server then closes the connection.
			st, err := conn.OpenStreamSync(ctx)
			if err == nil {
				_ = writeMessage(st, &message{Type: msgHello, Node: "x", Version: protocolVersion})
				_, err = readMessage(st)
			}
			_ = conn.CloseWithError(0, "")
			if err == nil {
				t.Fatal("server talked to a client without a certificate")
			}
		}
		if len(srv.Children()) > 0 {
			t.Fatal("child registered without a certificate")
		}
	})

	t.Run("hello names another node than the certificate", func(t *testing.T) {
		srv, err := Listen(ServerConfig{NodeID: "origin-1", Addr: "127.0.0.1:0", Auth: ca.auth(t, "origin-1"), Upstream: origin, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		mat, err := ca.auth(t, "edge-1").material("edge-1")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		conn, err := quic.DialAddr(ctx, srv.Addr().String(), mat.clientTLS(), quicConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseWithError(0, "")
		st, err := conn.OpenStreamSync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = writeMessage(st, &message{Type: msgHello, Node: "edge-2", Version: protocolVersion})
		if _, err := readMessage(st); err == nil {
			t.Fatal("server answered a hello that impersonates another node")
		}
	})

	t.Run("CA mode accepts cluster members", func(t *testing.T) {
		srv, err := Listen(ServerConfig{NodeID: "origin-1", Addr: "127.0.0.1:0", Auth: ca.auth(t, "origin-1"), Upstream: origin, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		link, err := Dial(LinkConfig{NodeID: "edge-1", ParentAddr: srv.Addr().String(), Auth: ca.auth(t, "edge-1"), Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer link.Close()
		eventually(t, "link up", 5*time.Second, link.Connected)
		eventually(t, "child listed", time.Second, func() bool { return len(srv.Children()) == 1 && srv.Children()[0] == "edge-1" })
	})
}

func TestSecretDerivesSameCA(t *testing.T) {
	a, _, err := secretCA(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := secretCA(testSecret)
	c, _, _ := secretCA([]byte("another-secret-of-enough-length"))
	if !a.Equal(b) || a.Equal(c) {
		t.Fatal("derived CA must depend on the secret only")
	}
	if _, _, err := secretCA([]byte("short")); err == nil {
		t.Fatal("short secret accepted")
	}
}
