package server

import (
	"log"
	"net/http"
)

const (
	pathJobs   = "/v1/jobs"
	pathNodes  = "/v1/nodes"
	pathStatus = "/v1/status"
)

// register mounts the API on the mTLS mux; every route checks the caller's token.
func register(mux *http.ServeMux, h *Handlers) {
	mux.Handle(pathJobs, withToken(http.HandlerFunc(h.Jobs)))
	mux.Handle(pathNodes, withToken(http.HandlerFunc(h.Nodes)))
	mux.Handle(pathStatus, withToken(http.HandlerFunc(h.Status)))
	log.Printf("api mounted")
}
