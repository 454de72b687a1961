// Package cmd builds the listeners of the SaaS back end. The public listener
// serves health checks, the JWK Set and /v1/public behind the load balancer.
// The agent listener serves every /v1/agent route on port 9443, only over
// mTLS: the client certificate must chain to the agent CA and carry an agent
// SPIFFE ID, and each request must carry a valid HMAC signature.
package cmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/auth"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/certreload"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/identity"
)

// Default listener addresses.
const (
	DefaultMTLSAddr   = ":9443"
	DefaultPublicAddr = ":8080"
)

// ErrNotModified is returned by AgentService.DesiredState when the agent
// already holds the current revision.
var ErrNotModified = errors.New("desired state not modified")

// AgentService is the back-end logic behind the agent routes.
type AgentService interface {
	DesiredState(ctx context.Context, a identity.Agent, ifNoneMatch string) (state []byte, etag string, err error)
	Heartbeat(ctx context.Context, a identity.Agent, hb Heartbeat) error
	AdapterSync(ctx context.Context, a identity.Agent, inv AdapterInventory) (SyncResult, error)
	Allowlist(ctx context.Context, a identity.Agent) (SignedAllowlist, error)
}

// Heartbeat is the body of POST /v1/agent/heartbeat.
type Heartbeat struct {
	AgentVersion string            `json:"agent_version"`
	Uptime       int64             `json:"uptime_seconds"`
	Adapters     map[string]string `json:"adapters"` // adapter name -> health
}

// AdapterInventory is the body of POST /v1/agent/adapter-sync.
type AdapterInventory struct {
	Revision int64             `json:"revision"`
	Adapters []AdapterObserved `json:"adapters"`
}

// AdapterObserved is one adapter as the agent sees it in the cluster.
type AdapterObserved struct {
	Name      string            `json:"name"`
	Kind      string            `json:"kind"`
	Version   string            `json:"version"`
	Endpoints []string          `json:"endpoints"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// SyncResult tells the agent what the SaaS did with an inventory.
type SyncResult struct {
	Accepted int64    `json:"accepted_revision"`
	Drift    []string `json:"drift,omitempty"`
}

// SignedAllowlist is the egress allowlist, signed with a JWKS key.
type SignedAllowlist struct {
	Entries   []string  `json:"entries"`
	Issued    time.Time `json:"issued"`
	KeyID     string    `json:"kid"`
	Signature string    `json:"signature"`
}

// RouteMetrics records one served request.
type RouteMetrics interface {
	Observe(route string, code int, elapsed time.Duration)
}

// MTLSOptions configures the agent listener. Every field is required.
type MTLSOptions struct {
	Addr         string
	ClientCAFile string               // CA that issues agent SVIDs
	ServerCert   *certreload.Reloader // cert-manager certificate for this listener
	SPIFFE       *identity.Verifier
	HMAC         *auth.HMACVerifier
	Agents       AgentService
	Metrics      RouteMetrics
	Logger       *slog.Logger
}

// MTLSListener is the agent-facing HTTPS server.
type MTLSListener struct {
	addr    string
	server  *http.Server
	spiffe  *identity.Verifier
	hmac    *auth.HMACVerifier
	agents  AgentService
	metrics RouteMetrics
	log     *slog.Logger
}

// NewMTLSListener builds the agent listener. It never degrades: a missing CA,
// certificate or verifier is an error, not a fallback to server-only TLS.
func NewMTLSListener(opts MTLSOptions) (*MTLSListener, error) {
	if opts.ServerCert == nil || opts.SPIFFE == nil || opts.Logger == nil {
		return nil, errors.New("mtls listener: server certificate, SPIFFE verifier and logger are required")
	}
	clientCAs, err := loadClientCAs(opts.ClientCAFile)
	if err != nil {
		return nil, err
	}
	tlsConfig := &tls.Config{
		MinVersion:     tls.VersionTLS13,
		ClientAuth:     tls.RequireAndVerifyClientCert,
		ClientCAs:      clientCAs,
		GetCertificate: opts.ServerCert.GetCertificate,
		// Runs after chain verification, on every handshake including
		// resumed ones: a client certificate without an agent SPIFFE ID
		// never gets as far as HTTP.
		VerifyConnection: opts.SPIFFE.VerifyConnection,
		NextProtos:       []string{"h2", "http/1.1"},
	}

	l := &MTLSListener{
		addr:    opts.Addr,
		spiffe:  opts.SPIFFE,
		hmac:    opts.HMAC,
		agents:  opts.Agents,
		metrics: opts.Metrics,
		log:     opts.Logger.With("listener", "mtls"),
	}
	mtlsMux := http.NewServeMux()
	if err := l.registerAgentRoutes(mtlsMux); err != nil {
		return nil, err
	}
	l.server = &http.Server{
		Addr:              opts.Addr,
		Handler:           mtlsMux,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelWarn),
	}
	return l, nil
}

func loadClientCAs(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, errors.New("mtls listener: client CA file is required")
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mtls listener: client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("mtls listener: %s holds no PEM certificates", path)
	}
	return pool, nil
}

// PublicDeps are the handlers mounted on the public listener.
type PublicDeps struct {
	JWKS     http.Handler // JWK Set of the customer API token keys
	Evidence http.Handler // security capability matrix
	Ready    func(context.Context) error
}

// NewPublicMux returns the router of the public listener: plain HTTP behind
// the load balancer, no client certificates, no agent routes.
func NewPublicMux(deps PublicDeps) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := deps.Ready(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.Handle("GET /.well-known/jwks.json", deps.JWKS)
	mux.Handle("GET /v1/public/security/capabilities", deps.Evidence)
	mux.HandleFunc("GET /v1/public/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "agent_endpoint": "port 9443 (mTLS)"})
	})
	// An agent pointed at the wrong port gets a clear answer, not a 404.
	mux.HandleFunc("/v1/agent/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the agent API is only served over mTLS on port 9443", http.StatusMisdirectedRequest)
	})
	return mux
}

// registerAgentRoutes mounts the agent API on the mTLS listener's mux.
func (l *MTLSListener) registerAgentRoutes(mtlsMux *http.ServeMux) error {
	if l.hmac == nil {
		return errors.New("mtls listener: HMAC verifier is required for agent routes")
	}
	if l.spiffe == nil {
		return errors.New("mtls listener: SPIFFE verifier is required for agent routes")
	}
	if l.agents == nil {
		return errors.New("mtls listener: agent service is required")
	}

	// agentRoute stacks, from the outside in: request metrics, the SPIFFE
	// check of the connection's verified client certificate, a body size
	// limit, the HMAC signature check, and the handler. The SPIFFE check has
	// to come first: the agent identity it finds selects the HMAC key.
	agentRoute := func(name string, maxBody int64, h http.HandlerFunc) http.Handler {
		next := l.hmac.Middleware(h)
		if maxBody > 0 {
			next = http.MaxBytesHandler(next, maxBody)
		}
		next = l.requireAgentSPIFFE(next)
		return l.instrument(name, next)
	}

	// Every agent polls desired state. Agents send If-None-Match, so most
	// polls end in 304 without a body; otherwise the response is the whole
	// state document.
	mtlsMux.Handle("GET /v1/agent/desired-state",
		agentRoute("desired_state", 0, l.handleDesiredState))

	// Heartbeats carry adapter health and the agent build. An agent that
	// misses three in a row is shown as stale in the console.
	mtlsMux.Handle("POST /v1/agent/heartbeat",
		agentRoute("heartbeat", 64<<10, l.handleHeartbeat))

	// Adapter sync uploads the observed adapter inventory, the largest
	// agent payload.
	mtlsMux.Handle("POST /v1/agent/adapter-sync",
		agentRoute("adapter_sync", 4<<20, l.handleAdapterSync))

	// The allowlist is signed; the agent checks the signature again.
	mtlsMux.Handle("GET /v1/agent/allowlist",
		agentRoute("allowlist", 0, l.handleAllowlist))

	l.log.Info("agent routes registered on the mTLS mux",
		"addr", l.addr, "routes", 4)
	return nil
}

// requireAgentSPIFFE resolves the agent from the connection's verified chain
// and puts it in the request context. VerifyConnection has already refused
// handshakes without an agent ID; this keeps the handlers safe even if the
// server were ever built without it.
func (l *MTLSListener) requireAgentSPIFFE(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agent, err := l.spiffe.AgentFromState(r.TLS)
		if err != nil {
			l.log.Warn("rejected request without agent identity", "remote", r.RemoteAddr, "err", err)
			http.Error(w, "agent identity required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(identity.WithAgent(r.Context(), agent)))
	})
}

// AgentIDFromRequest tells the HMAC verifier which agent is calling. It only
// trusts the identity stored by requireAgentSPIFFE, never a header.
func AgentIDFromRequest(r *http.Request) (string, bool) {
	a, ok := identity.AgentFromContext(r.Context())
	if !ok || a.AgentID == "" {
		return "", false
	}
	return a.AgentID, true
}

func (l *MTLSListener) handleDesiredState(w http.ResponseWriter, r *http.Request) {
	agent, _ := identity.AgentFromContext(r.Context())
	state, etag, err := l.agents.DesiredState(r.Context(), agent, r.Header.Get("If-None-Match"))
	if errors.Is(err, ErrNotModified) {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if err != nil {
		l.serverError(w, r, "desired state", err)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(state)
}

func (l *MTLSListener) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	agent, _ := identity.AgentFromContext(r.Context())
	var hb Heartbeat
	if err := json.NewDecoder(r.Body).Decode(&hb); err != nil {
		http.Error(w, "malformed heartbeat: "+err.Error(), http.StatusBadRequest)
		return
	}
	if hb.AgentVersion == "" {
		http.Error(w, "heartbeat without agent_version", http.StatusBadRequest)
		return
	}
	if err := l.agents.Heartbeat(r.Context(), agent, hb); err != nil {
		l.serverError(w, r, "heartbeat", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (l *MTLSListener) handleAdapterSync(w http.ResponseWriter, r *http.Request) {
	agent, _ := identity.AgentFromContext(r.Context())
	var inv AdapterInventory
	if err := json.NewDecoder(r.Body).Decode(&inv); err != nil {
		http.Error(w, "malformed adapter inventory: "+err.Error(), http.StatusBadRequest)
		return
	}
	for _, a := range inv.Adapters {
		if a.Name == "" || a.Kind == "" {
			http.Error(w, "adapter without name or kind", http.StatusUnprocessableEntity)
			return
		}
	}
	res, err := l.agents.AdapterSync(r.Context(), agent, inv)
	if err != nil {
		l.serverError(w, r, "adapter sync", err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (l *MTLSListener) handleAllowlist(w http.ResponseWriter, r *http.Request) {
	agent, _ := identity.AgentFromContext(r.Context())
	list, err := l.agents.Allowlist(r.Context(), agent)
	if err != nil {
		l.serverError(w, r, "allowlist", err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// ErrUnknownAgent is returned by an AgentService for an identity that is
// valid but not (or no longer) registered, e.g. after its cluster was deleted.
var ErrUnknownAgent = errors.New("agent is not registered")

func (l *MTLSListener) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	agent, _ := identity.AgentFromContext(r.Context())
	if errors.Is(err, ErrUnknownAgent) {
		l.log.Warn(what+" from unregistered agent", "agent", agent.ID.String())
		http.Error(w, "agent is not registered", http.StatusForbidden)
		return
	}
	l.log.Error(what+" failed", "agent", agent.ID.String(), "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (l *MTLSListener) instrument(route string, next http.Handler) http.Handler {
	if l.metrics == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		l.metrics.Observe(route, rec.code, time.Since(start))
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// ListenAndServe serves until Shutdown. The certificate comes from the
// tls.Config (GetCertificate), hence the empty file names.
func (l *MTLSListener) ListenAndServe() error {
	l.log.Info("serving agent API", "addr", l.addr, "client_auth", "require_and_verify", "min_tls", "1.3")
	if err := l.server.ListenAndServeTLS("", ""); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("mtls listener: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for in-flight requests.
func (l *MTLSListener) Shutdown(ctx context.Context) error {
	return l.server.Shutdown(ctx)
}
