package main

import (
	"crypto/tls"
	"log"
	"net/http"
	"os"
)

type config struct {
	mtlsRequired bool
	caFile       string
	listenAddr   string
}

func loadConfig() config {
	return config{
		mtlsRequired: os.Getenv("MTLS_REQUIRED") != "false",
		caFile:       os.Getenv("MTLS_CA_FILE"),
		listenAddr:   ":9443",
	}
}

func main() {
	cfg := loadConfig()
	if cfg.mtlsRequired && cfg.caFile == "" {
		log.Fatalf("mTLS is required but MTLS_CA_FILE is not set")
	}

	agentMux := http.NewServeMux()
	agentMux.HandleFunc("POST /v1/agent/heartbeat", heartbeat)
	agentMux.HandleFunc("GET /v1/agent/desired-state", desiredState)

	srv := &http.Server{
		Addr:    cfg.listenAddr,
		Handler: agentMux,
		TLSConfig: &tls.Config{
			ClientAuth: tls.RequireAndVerifyClientCert,
			MinVersion: tls.VersionTLS13,
		},
	}
	log.Fatal(srv.ListenAndServeTLS("server.crt", "server.key"))
}

func heartbeat(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

func desiredState(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"generation":1}`))
}
