package agent

import "net/http"

// registerAgentRoutes mounts the agent API on the mTLS mux.
//
// Every route here requires a verified client certificate; the public
// mux below never sees agent traffic.
func registerAgentRoutes(mtlsMux *http.ServeMux, h *handlers) {
	mtlsMux.HandleFunc("POST /v1/agent/heartbeat", h.heartbeat)
	mtlsMux.HandleFunc("GET /v1/agent/desired-state", h.desiredState)
}

func registerPublicRoutes(publicMux *http.ServeMux, h *handlers) {
	publicMux.HandleFunc("GET /healthz", h.healthz)
}
