package peers

import (
	"crypto/x509"
	"log"
)

// Peer is a cluster member and the certificate chain it presented.
type Peer struct {
	Name  string
	Cert  *x509.Certificate
	Chain []*x509.Certificate
}

// Admit keeps the peers whose certificates verify against the pool.
func Admit(peers []Peer, pool *x509.CertPool) []Peer {
	var admitted []Peer
	for _, p := range peers {
		if _, err := p.Cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
			log.Printf("peer %s rejected: %v", p.Name, err)
			continue
		}
		admitted = append(admitted, p)
	}
	return admitted
}

// FirstTrusted returns the first peer whose whole chain is trusted, or nil.
func FirstTrusted(peers []Peer, pool *x509.CertPool) *Peer {
	var found *Peer
scan:
	for i := range peers {
		for _, c := range peers[i].Chain {
			if !trusted(c, pool) {
				continue scan
			}
		}
		found = &peers[i]
		break
	}
	return found
}
