package ca

import (
	"crypto/x509"
	"errors"
	"net/http"
)

// Server issues certificates.
type Server struct {
	roots *x509.CertPool
}

func (s *Server) parse(r *http.Request) (*x509.Certificate, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, errors.New("no client certificate")
	}
	return r.TLS.PeerCertificates[0], nil
}

func (s *Server) verify(cert *x509.Certificate) error {
	_, err := cert.Verify(x509.VerifyOptions{Roots: s.roots})
	return err
}

func (s *Server) issue(w http.ResponseWriter, cert *x509.Certificate) {
	w.WriteHeader(http.StatusCreated)
}
