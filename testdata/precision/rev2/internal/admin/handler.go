package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

type adminHandler struct {
	allowed []string
	mu      *sync.Mutex
	log     func(string)
}

// newAdminHandler builds a handler allowing the given hosts, each with and without its
// scheme.
func newAdminHandler(hosts []string, log func(string)) *adminHandler {
	if log == nil {
		log = func(string) {}
	}
	var allowed []string
	for _, host := range hosts {
		allowed = append(allowed,
			"https://"+host,
			"http://"+host,
			host,
		)
	}
	return &adminHandler{
		allowed: allowed,
		mu:      new(sync.Mutex),
		log:     log,
	}
}

// checkOrigin refuses cross-site requests: the Origin header, then the Referer, must name
// an allowed host.
func (h adminHandler) checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin != "" && !h.isAllowed(origin) {
		return fmt.Errorf("origin %q is not allowed", origin)
	}
	referer := r.Header.Get("Referer")
	if referer != "" && !h.isAllowed(referer) {
		return fmt.Errorf("referer %q is not allowed", referer)
	}
	if origin == "" && referer == "" {
		return errors.New("no origin or referer")
	}
	h.log("origin checked")
	return nil
}

func (h adminHandler) isAllowed(host string) bool {
	for _, a := range h.allowed {
		if strings.HasPrefix(host, a) {
			return true
		}
	}
	return false
}

func (h *adminHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.checkOrigin(r); err != nil {
		h.handleError(w, r, err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	msg := fmt.Sprintf("%s %s from %s",
		r.Method,
		r.URL.Path,
		r.RemoteAddr)
	h.log(msg)
}

func (h *adminHandler) handleError(w http.ResponseWriter, r *http.Request, err error) {
	http.Error(w, err.Error(), http.StatusForbidden)
}
