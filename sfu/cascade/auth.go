package cascade

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// alpn names the link protocol in the TLS handshake.
const alpn = "classcast-cascade/1"

// Auth configures mutual authentication of cascade links. Set either the
// cluster CA (CACertPEM + CertPEM + KeyPEM) or ClusterSecret.
//
// With ClusterSecret every node derives the same cluster CA key from the
// secret (HKDF-SHA256 → Ed25519 seed) and issues itself a fresh leaf
// certificate with it, so both modes end in the same mutual TLS check: a
// peer without the secret cannot produce a certificate chaining to the
// derived CA and is refused inside the handshake, before any stream or
// datagram is processed. (An HMAC exchange on the control stream would let
// unauthenticated peers open connections and send datagrams first.)
type Auth struct {
	CACertPEM []byte
	CertPEM   []byte
	KeyPEM    []byte

	ClusterSecret []byte
}

type authMaterial struct {
	pool *x509.CertPool
	cert tls.Certificate
}

func (a Auth) material(nodeID string) (*authMaterial, error) {
	switch {
	case len(a.ClusterSecret) > 0:
		return secretMaterial(a.ClusterSecret, nodeID)
	case len(a.CACertPEM) > 0 && len(a.CertPEM) > 0 && len(a.KeyPEM) > 0:
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(a.CACertPEM) {
			return nil, fmt.Errorf("%w: no CA certificate in CACertPEM", errInvalidConfig)
		}
		cert, err := tls.X509KeyPair(a.CertPEM, a.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("%w: node certificate: %w", errInvalidConfig, err)
		}
		return &authMaterial{pool: pool, cert: cert}, nil
	}
	return nil, fmt.Errorf("%w: set Auth.ClusterSecret or CA cert + node cert + key", errInvalidConfig)
}

// secretCA derives the cluster CA from the secret. The template is fixed
// and Ed25519 signatures are deterministic, so every node derives the same
// certificate.
func secretCA(secret []byte) (*x509.Certificate, ed25519.PrivateKey, error) {
	if len(secret) < 16 {
		return nil, nil, fmt.Errorf("%w: ClusterSecret shorter than 16 bytes", errInvalidConfig)
	}
	seed, err := hkdf.Key(sha256.New, secret, []byte("classcast cascade"), "cluster ca v1", ed25519.SeedSize)
	if err != nil {
		return nil, nil, fmt.Errorf("cascade: derive CA: %w", err)
	}
	key := ed25519.NewKeyFromSeed(seed)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "classcast cascade cluster CA"},
		NotBefore:             time.Unix(0, 0),
		NotAfter:              time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("cascade: derive CA: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("cascade: derive CA: %w", err)
	}
	return ca, key, nil
}

func secretMaterial(secret []byte, nodeID string) (*authMaterial, error) {
	ca, caKey, err := secretCA(secret)
	if err != nil {
		return nil, err
	}
	leaf, err := issueLeaf(ca, caKey, nodeID)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &authMaterial{pool: pool, cert: leaf}, nil
}

// issueLeaf makes a node certificate (CN = node id) signed by ca.
func issueLeaf(ca *x509.Certificate, caKey crypto.Signer, nodeID string) (tls.Certificate, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cascade: node key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cascade: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: nodeID},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cascade: node certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}

// serverTLS requires and verifies a client certificate from the cluster CA.
func (m *authMaterial) serverTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{m.cert},
		ClientCAs:    m.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		NextProtos:   []string{alpn},
	}
}

// clientTLS verifies the parent's chain against the cluster CA. Node
// identity is the certificate's CN (checked against hello), not a DNS name:
// cascade addresses are often bare IPs, so host name checks are replaced by
// chain verification in VerifyConnection.
func (m *authMaterial) clientTLS() *tls.Config {
	pool := m.pool
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{m.cert},
		InsecureSkipVerify: true, //nolint:gosec // chain verified in VerifyConnection below
		NextProtos:         []string{alpn},
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyChain(cs, pool, x509.ExtKeyUsageServerAuth)
		},
	}
}

var errNoPeerCert = errors.New("no peer certificate")

func verifyChain(cs tls.ConnectionState, pool *x509.CertPool, usage x509.ExtKeyUsage) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: %w", ErrAuth, errNoPeerCert)
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return nil
}

// peerNodeID is the authenticated node id of the peer (its cert's CN).
func peerNodeID(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	return cs.PeerCertificates[0].Subject.CommonName
}
