package ca

import (
	"log"
	"net/http"
)

// Renew issues a new certificate for a client that presents a valid one.
func (s *Server) Renew(w http.ResponseWriter, r *http.Request) {
	cert, err := s.parse(r)
	if err != nil {
		log.Printf("renew refused: %v", err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if err := s.verify(cert); err != nil {
		s.metrics.refused++
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	s.issue(w, cert)
}
