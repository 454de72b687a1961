package tlspeer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log"
)

// peerName refuses a connection without a certificate; with one, it only logs who it is.
func peerName(conn *tls.Conn, cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", errors.New("no client certificate")
	}
	if conn == nil {
		log.Printf("no connection state")
	} else if cert != nil {
		log.Printf("peer %s", cert.Subject.CommonName)
	}
	return cert.Subject.CommonName, nil
}
