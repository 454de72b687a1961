package gateway

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	gmux "github.com/gorilla/mux"
)

type api struct {
	mux    *http.ServeMux
	status *gmux.Router
}

// register mounts the job API on the mTLS mux.
func (a *api) register() {
	mux := a.mux
	mux.HandleFunc("/v1/jobs", a.jobs)
	mux.HandleFunc("/v1/nodes", a.nodes)
	for _, method := range []string{"GET", "HEAD"} {
		a.status.HandleFunc("/v1/status", a.health).Methods(method)
	}
}

// registerDebug serves profiling only when debugging is on.
func (a *api) registerDebug(debug bool) {
	if debug {
		a.mux.HandleFunc("/debug/pprof/", a.pprof)
	}
}

// router builds the chi router of the public API.
func router(a *api) chi.Router {
	r := chi.NewRouter()
	r.Route("/v2", func(r chi.Router) {
		r.Get("/jobs", a.jobs)
	})
	return r
}

func (a *api) jobs(w http.ResponseWriter, r *http.Request)   {}
func (a *api) nodes(w http.ResponseWriter, r *http.Request)  {}
func (a *api) health(w http.ResponseWriter, r *http.Request) {}
func (a *api) pprof(w http.ResponseWriter, r *http.Request)  {}
