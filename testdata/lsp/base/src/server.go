package main

import (
	"errors"
	"log"
	"net/http"
)

var errNoCert = errors.New("no client certificate")

func requireClientCert(r *http.Request) error {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return errNoCert
	}
	return nil
}

func handler(w http.ResponseWriter, r *http.Request) {
	if err := requireClientCert(r); err != nil {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func main() {
	http.HandleFunc("/", handler)
	log.Fatal(http.ListenAndServeTLS(":8443", "cert.pem", "key.pem", nil))
}
