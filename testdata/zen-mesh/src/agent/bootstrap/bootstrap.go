// Package bootstrap brings an agent up: it loads the agent's SPIFFE identity,
// builds the mTLS client used for every call to the SaaS back end, and decides
// whether the agent may start at all.
package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/zen-mesh/zen-mesh/src/agent/svid"
)

const agentIDPrefix = "spiffe://zen-mesh.io/agent/"

// Mode says how much of the agent is running.
type Mode int

const (
	// ModeConnected: the agent has an identity and talks to the SaaS over mTLS.
	ModeConnected Mode = iota
	// ModeLocalOnly: no identity yet. Adapters run from the cached desired
	// state and nothing is sent to the SaaS. Only possible without
	// requireSPIFFE.
	ModeLocalOnly
)

// Config is the agent's connection configuration.
type Config struct {
	SaaSURL      string        // e.g. https://agents.zen-mesh.io:9443
	SVIDDir      string        // csi-driver-spiffe mount
	SVIDPoll     time.Duration // how often the SVID files are checked for a renewal
	ServerCAFile string        // optional CA for private SaaS deployments
}

// Option configures a Bootstrapper.
type Option func(*Bootstrapper)

// RequireSPIFFE makes Start fail instead of falling back to local-only mode
// when the agent has no valid SPIFFE identity.
func RequireSPIFFE(required bool) Option {
	return func(b *Bootstrapper) { b.requireSPIFFE = required }
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(b *Bootstrapper) { b.log = l }
}

// Bootstrapper starts an agent.
type Bootstrapper struct {
	cfg           Config
	requireSPIFFE bool
	log           *slog.Logger
}

// Session is what Start hands to the rest of the agent.
type Session struct {
	Mode     Mode
	SPIFFEID string
	SaaS     *url.URL
	HTTP     *http.Client // nil in ModeLocalOnly
}

// New validates cfg and applies opts.
func New(cfg Config, opts ...Option) (*Bootstrapper, error) {
	u, err := url.Parse(cfg.SaaSURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("bootstrap: SaaS URL %q must be an https URL", cfg.SaaSURL)
	}
	if cfg.SVIDDir == "" {
		cfg.SVIDDir = svid.DefaultDir
	}
	if cfg.SVIDPoll <= 0 {
		cfg.SVIDPoll = 30 * time.Second
	}
	b := &Bootstrapper{cfg: cfg, log: slog.Default()}
	for _, opt := range opts {
		opt(b)
	}
	return b, nil
}

// OptionsFromEnv reads the options an operator sets on the agent Deployment.
func OptionsFromEnv() ([]Option, error) {
	var opts []Option
	if v, ok := os.LookupEnv("ZEN_AGENT_REQUIRE_SPIFFE"); ok {
		required, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("bootstrap: ZEN_AGENT_REQUIRE_SPIFFE=%q: %w", v, err)
		}
		opts = append(opts, RequireSPIFFE(required))
	}
	return opts, nil
}

// Start loads the identity and returns the session. With requireSPIFFE set,
// an agent without a valid SPIFFE identity refuses to start, so the pod
// crash-loops visibly instead of running half-configured.
func (b *Bootstrapper) Start(ctx context.Context) (*Session, error) {
	src, err := svid.NewFileSource(b.cfg.SVIDDir, b.cfg.SVIDPoll, b.log)
	if err == nil && !strings.HasPrefix(src.Current().SPIFFEID, agentIDPrefix) {
		err = fmt.Errorf("SPIFFE ID %s is not an agent identity", src.Current().SPIFFEID)
	}
	if b.requireSPIFFE && err != nil {
		return nil, fmt.Errorf("bootstrap: SPIFFE identity required, refusing to start: %w", err)
	}
	if err != nil {
		b.log.Warn("no SPIFFE identity, starting in local-only mode", "err", err)
		return &Session{Mode: ModeLocalOnly}, nil
	}

	roots, err := b.serverRoots()
	if err != nil {
		return nil, err
	}
	saas, _ := url.Parse(b.cfg.SaaSURL)
	transport := &http.Transport{
		TLSClientConfig: &tls.Config{
			MinVersion:           tls.VersionTLS13,
			RootCAs:              roots,
			GetClientCertificate: src.GetClientCertificate,
		},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	// A renewed SVID is picked up on the next handshake; close idle
	// connections so long-lived ones do not keep the old certificate.
	src.OnRotate(func(*svid.SVID) { transport.CloseIdleConnections() })
	go func() {
		if err := src.Run(ctx); err != nil {
			b.log.Error("SVID refresh stopped", "err", err)
		}
	}()

	id := src.Current().SPIFFEID
	b.log.Info("agent identity loaded", "spiffe_id", id, "not_after", src.Current().NotAfter)
	return &Session{
		Mode:     ModeConnected,
		SPIFFEID: id,
		SaaS:     saas,
		HTTP:     &http.Client{Transport: transport, Timeout: 30 * time.Second},
	}, nil
}

func (b *Bootstrapper) serverRoots() (*x509.CertPool, error) {
	if b.cfg.ServerCAFile == "" {
		return x509.SystemCertPool()
	}
	pem, err := os.ReadFile(b.cfg.ServerCAFile)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: server CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("bootstrap: server CA file holds no certificates")
	}
	return pool, nil
}
