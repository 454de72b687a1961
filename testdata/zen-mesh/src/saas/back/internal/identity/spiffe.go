// Package identity verifies the SPIFFE identities that agents present on the
// SaaS back end's mTLS listener.
//
// An agent authenticates with an X.509 SVID whose only URI SAN is a SPIFFE ID
// of the form
//
//	spiffe://zen-mesh.io/agent/<tenant>/<cluster>/<agent>
//
// Today the SVID is issued by cert-manager (csi-driver-spiffe) and written to
// files in the agent pod. Fetching it from the SPIRE Workload API is the
// planned hardening path; it does not change what is verified here.
package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// TrustDomain is the SPIFFE trust domain of every Zen Mesh workload.
const TrustDomain = "zen-mesh.io"

const agentPathPrefix = "/agent/"

var (
	ErrNoPeerCertificate = errors.New("identity: connection has no verified peer certificate")
	ErrNoSPIFFEID        = errors.New("identity: certificate carries no SPIFFE ID")
	ErrWrongTrustDomain  = errors.New("identity: SPIFFE ID is outside the trust domain")
	ErrNotAnAgent        = errors.New("identity: SPIFFE ID does not name an agent")
)

// SPIFFEID is a parsed spiffe:// URI.
type SPIFFEID struct {
	TrustDomain string
	Path        string
}

func (id SPIFFEID) String() string {
	return "spiffe://" + id.TrustDomain + id.Path
}

// ParseSPIFFEID parses raw and checks it against the SPIFFE ID rules: the
// spiffe scheme, a lower-case trust domain without port or user info, no query
// or fragment, and no empty, "." or ".." path segments.
func ParseSPIFFEID(raw string) (SPIFFEID, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SPIFFEID{}, fmt.Errorf("identity: parse SPIFFE ID %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "spiffe":
		return SPIFFEID{}, fmt.Errorf("identity: %q: scheme must be spiffe", raw)
	case u.Host == "":
		return SPIFFEID{}, fmt.Errorf("identity: %q: missing trust domain", raw)
	case u.User != nil || u.Port() != "":
		return SPIFFEID{}, fmt.Errorf("identity: %q: trust domain must not carry user info or a port", raw)
	case u.RawQuery != "" || u.Fragment != "":
		return SPIFFEID{}, fmt.Errorf("identity: %q: query and fragment are not allowed", raw)
	case u.Host != strings.ToLower(u.Host):
		return SPIFFEID{}, fmt.Errorf("identity: %q: trust domain must be lower case", raw)
	}
	if u.Path != "" {
		for _, seg := range strings.Split(strings.TrimPrefix(u.Path, "/"), "/") {
			if seg == "" || seg == "." || seg == ".." {
				return SPIFFEID{}, fmt.Errorf("identity: %q: invalid path segment %q", raw, seg)
			}
		}
	}
	return SPIFFEID{TrustDomain: u.Host, Path: u.Path}, nil
}

// SPIFFEIDFromCertificate returns the SPIFFE ID of an X.509 SVID. An SVID has
// exactly one URI SAN; a certificate with several is rejected rather than
// guessed at.
func SPIFFEIDFromCertificate(cert *x509.Certificate) (SPIFFEID, error) {
	if cert == nil {
		return SPIFFEID{}, ErrNoPeerCertificate
	}
	switch len(cert.URIs) {
	case 0:
		return SPIFFEID{}, ErrNoSPIFFEID
	case 1:
		return ParseSPIFFEID(cert.URIs[0].String())
	default:
		return SPIFFEID{}, fmt.Errorf("identity: certificate has %d URI SANs, an SVID has exactly one", len(cert.URIs))
	}
}

// Agent is the agent a verified mTLS connection belongs to.
type Agent struct {
	ID        SPIFFEID
	TenantID  string
	ClusterID string
	AgentID   string
}

// Verifier checks the SPIFFE ID of mTLS peers against one trust domain.
type Verifier struct {
	trustDomain string
}

// NewVerifier returns a Verifier for trustDomain (usually TrustDomain).
func NewVerifier(trustDomain string) (*Verifier, error) {
	if trustDomain == "" || trustDomain != strings.ToLower(trustDomain) {
		return nil, fmt.Errorf("identity: invalid trust domain %q", trustDomain)
	}
	return &Verifier{trustDomain: trustDomain}, nil
}

// VerifyConnection has the signature of tls.Config.VerifyConnection. It runs
// after the client chain has been verified against the client CA pool and
// aborts the handshake unless the leaf names an agent in the trust domain.
func (v *Verifier) VerifyConnection(cs tls.ConnectionState) error {
	_, err := v.AgentFromState(&cs)
	return err
}

// AgentFromState returns the agent identity of a connection. It only looks at
// verified chains: a certificate the client merely presented proves nothing.
func (v *Verifier) AgentFromState(cs *tls.ConnectionState) (Agent, error) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return Agent{}, ErrNoPeerCertificate
	}
	return v.AgentFromCertificate(cs.VerifiedChains[0][0])
}

// AgentFromCertificate extracts and checks the agent SPIFFE ID of a leaf.
func (v *Verifier) AgentFromCertificate(leaf *x509.Certificate) (Agent, error) {
	id, err := SPIFFEIDFromCertificate(leaf)
	if err != nil {
		return Agent{}, err
	}
	if id.TrustDomain != v.trustDomain {
		return Agent{}, fmt.Errorf("%w: got %s, want %s", ErrWrongTrustDomain, id.TrustDomain, v.trustDomain)
	}
	rest, ok := strings.CutPrefix(id.Path, agentPathPrefix)
	if !ok {
		return Agent{}, fmt.Errorf("%w: %s", ErrNotAnAgent, id)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return Agent{}, fmt.Errorf("%w: %s: want /agent/<tenant>/<cluster>/<agent>", ErrNotAnAgent, id)
	}
	return Agent{ID: id, TenantID: parts[0], ClusterID: parts[1], AgentID: parts[2]}, nil
}

type agentKey struct{}

// WithAgent returns a copy of ctx carrying the verified agent.
func WithAgent(ctx context.Context, a Agent) context.Context {
	return context.WithValue(ctx, agentKey{}, a)
}

// AgentFromContext returns the agent stored by WithAgent.
func AgentFromContext(ctx context.Context) (Agent, bool) {
	a, ok := ctx.Value(agentKey{}).(Agent)
	return a, ok
}
