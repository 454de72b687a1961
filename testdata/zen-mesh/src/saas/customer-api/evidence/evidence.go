// Package evidence serves the security capability matrix that customers see
// in the console under Settings > Security and that auditors download as
// security_capability_validation_matrix.json.
//
// The matrix states, per capability, whether it is required, implemented,
// partial or planned, and which component owns it. It is hand-maintained:
// every change to a status is reviewed against the code it describes, and
// Validate refuses a matrix that downgrades a capability below its floor.
package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Status is where a capability stands.
type Status string

const (
	// StatusRequired: enforced, and the product refuses to run without it.
	StatusRequired Status = "required"
	// StatusImplemented: shipped and on by default.
	StatusImplemented Status = "implemented"
	// StatusPartial: shipped for some deployments or components only.
	StatusPartial Status = "partial"
	// StatusPlanned: on the roadmap; nothing is claimed yet.
	StatusPlanned Status = "planned"
	// StatusRetired: no longer offered.
	StatusRetired Status = "retired"
)

// rank orders statuses for downgrade checks; higher is stronger.
var rank = map[Status]int{
	StatusRetired:     0,
	StatusPlanned:     1,
	StatusPartial:     2,
	StatusImplemented: 3,
	StatusRequired:    4,
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	_, ok := rank[s]
	return ok
}

// Capability is one row of the matrix.
type Capability struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Status   Status   `json:"status"`
	Owner    string   `json:"owner"`
	Notes    string   `json:"notes,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
}

// Matrix is the published document.
type Matrix struct {
	Version      int          `json:"version"`
	UpdatedAt    time.Time    `json:"updated_at"`
	Capabilities []Capability `json:"capabilities"`
	NonClaims    []string     `json:"non_claims"`
}

// floors are the weakest status a capability may be published with. They
// exist so that a careless edit (or a generated one) cannot quietly turn a
// required property into a planned one.
var floors = map[string]Status{
	"CAP-001": StatusRequired,
	"CAP-002": StatusRequired,
	"CAP-003": StatusPartial,
	"CAP-005": StatusImplemented,
	"CAP-006": StatusImplemented,
	"CAP-007": StatusImplemented,
	"CAP-008": StatusImplemented,
	"CAP-009": StatusImplemented,
}

// nonClaims are published verbatim next to the capabilities.
var nonClaims = []string{
	"no production-live validation unless stated for a capability",
	"no compliance certification (PCI, HIPAA, SOC 2, ISO, FedRAMP)",
	"no zero-downtime rotation for every secret type",
	"the SPIRE Workload API is not fully deployed",
	"ZenLock is not a universal secret manager",
	"no exactly-once or zero-loss delivery guarantee",
}

// Current returns the matrix as of this build.
func Current() Matrix {
	caps := slices.Clone(capabilities)
	for i := range caps {
		caps[i].Evidence = slices.Clone(caps[i].Evidence)
	}
	return Matrix{
		Version:      3,
		UpdatedAt:    time.Date(2026, time.May, 24, 0, 0, 0, 0, time.UTC),
		Capabilities: caps,
		NonClaims:    slices.Clone(nonClaims),
	}
}

// capabilities is the matrix itself. Keep IDs stable: customers and the docs
// refer to them. A status change needs a review from the capability's owner
// and from security. The floors above catch the dangerous direction, but a
// wrong "implemented" misleads a customer as much as a wrong "planned" does.
// Evidence paths are relative to the repository root; the docs cite the
// exact lines, and CI checks those citations against the code.
var capabilities = []Capability{
	{ID: "CAP-001", Name: "Agent to SaaS mTLS", Status: StatusRequired,
		Owner:    "SaaS/back mTLS listener (port 9443)",
		Notes:    "All agent routes are served on the mTLS listener only; the back end refuses to start without it.",
		Evidence: []string{"src/saas/back/cmd/mtls_listener.go", "src/saas/back/src/main.go"}},
	{ID: "CAP-002", Name: "Agent to SaaS request signing (HMAC)", Status: StatusRequired,
		Owner:    "SaaS/back HMAC middleware (fail-closed)",
		Evidence: []string{"src/saas/back/internal/auth/hmac_middleware.go"}},
	{ID: "CAP-003", Name: "SPIFFE ID verification on mTLS connections", Status: StatusPartial,
		Owner:    "cert-manager + workload attestation",
		Notes:    "X.509 SVIDs where issued; agents can be made to require one (requireSPIFFE).",
		Evidence: []string{"src/saas/back/internal/identity/spiffe.go", "src/agent/bootstrap/bootstrap.go"}},
	{ID: "CAP-004", Name: "SPIFFE/SPIRE workload identity", Status: StatusPlanned,
		Owner: "Future: SPIRE Workload API",
		Notes: "The full agent workload identity model through the SPIRE Workload API. " +
			"Not to be read as mTLS being planned: see CAP-001."},
	{ID: "CAP-005", Name: "HMAC key rotation", Status: StatusImplemented,
		Owner:    "HMACKeyRotationController",
		Evidence: []string{"src/saas/back/internal/rotation/hmac_key_rotation_controller.go"}},
	{ID: "CAP-006", Name: "TLS certificate rotation", Status: StatusImplemented,
		Owner:    "cert-manager auto-renewal",
		Evidence: []string{"src/saas/back/internal/certreload/reloader.go"}},
	{ID: "CAP-007", Name: "JWK rotation", Status: StatusImplemented,
		Owner:    "JWT/JWKS lifecycle",
		Evidence: []string{"src/saas/back/internal/jwks/lifecycle.go"}},
	{ID: "CAP-008", Name: "X.509 SVID lifecycle (file-based)", Status: StatusImplemented,
		Owner:    "cert-manager + workload",
		Evidence: []string{"src/agent/svid/file_source.go"}},
	{ID: "CAP-009", Name: "ZenLock secret custody", Status: StatusImplemented,
		Owner:    "ZenLock: custody, distribution, audit",
		Notes:    "Custody and distribution of material produced by each credential's own lifecycle; not a rotation engine.",
		Evidence: []string{"src/saas/back/internal/zenlock/client.go"}},
}

// Lookup returns the capability with the given ID.
func Lookup(id string) (Capability, bool) {
	i := slices.IndexFunc(capabilities, func(c Capability) bool { return c.ID == id })
	if i < 0 {
		return Capability{}, false
	}
	return capabilities[i], true
}

// Validate checks m before it is published: unique IDs, known statuses, an
// owner on every row, and no capability below its floor.
func Validate(m Matrix) error {
	var errs []error
	seen := make(map[string]bool, len(m.Capabilities))
	for _, c := range m.Capabilities {
		if seen[c.ID] {
			errs = append(errs, fmt.Errorf("%s: duplicate capability id", c.ID))
		}
		seen[c.ID] = true
		if !c.Status.Valid() {
			errs = append(errs, fmt.Errorf("%s: unknown status %q", c.ID, c.Status))
			continue
		}
		if c.Owner == "" {
			errs = append(errs, fmt.Errorf("%s: no owner", c.ID))
		}
		if floor, ok := floors[c.ID]; ok && rank[c.Status] < rank[floor] {
			errs = append(errs, fmt.Errorf("%s: status %s is below its floor %s", c.ID, c.Status, floor))
		}
	}
	for id := range floors {
		if !seen[id] {
			errs = append(errs, fmt.Errorf("%s: capability with a floor is missing", id))
		}
	}
	return errors.Join(errs...)
}

// Handler serves the matrix as JSON with a strong ETag.
func Handler() (http.Handler, error) {
	m := Current()
	if err := Validate(m); err != nil {
		return nil, fmt.Errorf("evidence: refusing to serve an invalid matrix: %w", err)
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "public, max-age=600")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}), nil
}
