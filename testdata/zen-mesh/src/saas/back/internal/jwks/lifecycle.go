// Package jwks owns the lifecycle of the keys that sign customer API tokens.
//
// A key goes through four stages: generated (private key put in ZenLock
// custody), published (listed at /.well-known/jwks.json but not yet signing),
// active (signing new tokens), and retired (superseded, still published until
// every token it signed has expired, then removed and its material
// destroyed). Publishing before activating gives every replica and every
// verifier that caches the JWK Set time to learn the new kid before the first
// token carrying it shows up.
//
// One replica (the leader) rotates and prunes; every replica syncs the key
// set from the index and custody.
package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/zenlock"
)

// Custody stores private signing keys. *zenlock.Client implements it.
type Custody interface {
	Put(ctx context.Context, ref zenlock.SecretRef, material []byte, labels map[string]string) (zenlock.Version, error)
	Get(ctx context.Context, ref zenlock.SecretRef, v zenlock.Version) ([]byte, error)
	Destroy(ctx context.Context, ref zenlock.SecretRef, v zenlock.Version) error
}

// KeyRecord is the shared, non-secret description of one key.
type KeyRecord struct {
	KID        string          `json:"kid"`
	Version    zenlock.Version `json:"version"`
	CreatedAt  time.Time       `json:"created_at"`
	ActivateAt time.Time       `json:"activate_at"`
	RetireAt   time.Time       `json:"retire_at,omitempty"` // zero until superseded
}

// Index persists the key records shared by all replicas.
type Index interface {
	Load(ctx context.Context) ([]KeyRecord, error)
	Save(ctx context.Context, records []KeyRecord) error
}

var signingKeys = zenlock.SecretRef{Namespace: "jwks", Name: "customer-api-signing"}

type signingKey struct {
	KeyRecord
	priv *ecdsa.PrivateKey
}

// Config configures a Manager.
type Config struct {
	Custody     Custody
	Index       Index
	RotateEvery time.Duration // age at which a new key is generated
	PrePublish  time.Duration // how long a new key is published before it signs
	PublishFor  time.Duration // how long a superseded key stays published
	Logger      *slog.Logger
}

// Manager holds the key set of one replica.
type Manager struct {
	cfg Config
	now func() time.Time
	log *slog.Logger

	mu   sync.RWMutex
	keys []*signingKey // ordered by ActivateAt, newest last
}

// NewManager checks cfg. PublishFor must exceed the longest token lifetime,
// or tokens would outlive the key that verifies them.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Custody == nil || cfg.Index == nil {
		return nil, errors.New("jwks: custody and index are required")
	}
	if cfg.PublishFor <= 0 || cfg.RotateEvery <= cfg.PublishFor+cfg.PrePublish {
		return nil, fmt.Errorf("jwks: rotation period %s must exceed pre-publication %s plus publication window %s",
			cfg.RotateEvery, cfg.PrePublish, cfg.PublishFor)
	}
	return &Manager{cfg: cfg, now: time.Now, log: cfg.Logger.With("component", "jwks")}, nil
}

// Rotate generates a P-256 key, puts it in custody and publishes it; it
// starts signing after the pre-publication delay. The key it supersedes is
// retired once the new one has been active for the publication window.
func (m *Manager) Rotate(ctx context.Context) error {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("jwks: generate key: %w", err)
	}
	kid, err := thumbprint(&priv.PublicKey)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("jwks: marshal key: %w", err)
	}
	version, err := m.cfg.Custody.Put(ctx, signingKeys, der, map[string]string{"kid": kid, "alg": "ES256"})
	clear(der)
	if err != nil {
		return err
	}

	records, err := m.cfg.Index.Load(ctx)
	if err != nil {
		return err
	}
	now := m.now()
	rec := KeyRecord{KID: kid, Version: version, CreatedAt: now, ActivateAt: now.Add(m.cfg.PrePublish)}
	for i := range records {
		if records[i].RetireAt.IsZero() {
			records[i].RetireAt = rec.ActivateAt.Add(m.cfg.PublishFor)
		}
	}
	if err := m.cfg.Index.Save(ctx, append(records, rec)); err != nil {
		return err
	}
	m.log.Info("published new signing key", "kid", kid, "activates", rec.ActivateAt)
	return m.Sync(ctx)
}

// Prune removes retired keys from the index and destroys their material.
func (m *Manager) Prune(ctx context.Context) error {
	records, err := m.cfg.Index.Load(ctx)
	if err != nil {
		return err
	}
	now := m.now()
	var kept, retired []KeyRecord
	for _, r := range records {
		if !r.RetireAt.IsZero() && !now.Before(r.RetireAt) {
			retired = append(retired, r)
			continue
		}
		kept = append(kept, r)
	}
	if len(retired) == 0 {
		return nil
	}
	if err := m.cfg.Index.Save(ctx, kept); err != nil {
		return err
	}
	var errs []error
	for _, r := range retired {
		if err := m.cfg.Custody.Destroy(ctx, signingKeys, r.Version); err != nil {
			errs = append(errs, err)
			continue
		}
		m.log.Info("retired signing key", "kid", r.KID)
	}
	return errors.Join(append(errs, m.Sync(ctx))...)
}

// Sync makes this replica's key set match the index, fetching new private
// keys from custody.
func (m *Manager) Sync(ctx context.Context) error {
	records, err := m.cfg.Index.Load(ctx)
	if err != nil {
		return err
	}
	m.mu.RLock()
	have := make(map[string]*signingKey, len(m.keys))
	for _, k := range m.keys {
		have[k.KID] = k
	}
	m.mu.RUnlock()

	next := make([]*signingKey, 0, len(records))
	for _, r := range records {
		if k, ok := have[r.KID]; ok {
			next = append(next, &signingKey{KeyRecord: r, priv: k.priv})
			continue
		}
		der, err := m.cfg.Custody.Get(ctx, signingKeys, r.Version)
		if err != nil {
			return fmt.Errorf("jwks: fetch key %s: %w", r.KID, err)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(der)
		clear(der)
		if err != nil {
			return fmt.Errorf("jwks: parse key %s: %w", r.KID, err)
		}
		priv, ok := parsed.(*ecdsa.PrivateKey)
		if !ok {
			return fmt.Errorf("jwks: key %s is %T, want ECDSA", r.KID, parsed)
		}
		next = append(next, &signingKey{KeyRecord: r, priv: priv})
	}
	slices.SortFunc(next, func(a, b *signingKey) int { return a.ActivateAt.Compare(b.ActivateAt) })

	m.mu.Lock()
	m.keys = next
	m.mu.Unlock()
	return nil
}

// Maintain rotates and prunes on the leader until ctx ends.
func (m *Manager) Maintain(ctx context.Context) error {
	return m.every(ctx, time.Minute, func(ctx context.Context) error {
		records, err := m.cfg.Index.Load(ctx)
		if err != nil {
			return err
		}
		newest := time.Time{}
		for _, r := range records {
			if r.CreatedAt.After(newest) {
				newest = r.CreatedAt
			}
		}
		if len(records) == 0 || m.now().Sub(newest) >= m.cfg.RotateEvery {
			if err := m.Rotate(ctx); err != nil {
				return err
			}
		}
		return m.Prune(ctx)
	})
}

// Run keeps this replica in sync with the index until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	return m.every(ctx, 30*time.Second, m.Sync)
}

func (m *Manager) every(ctx context.Context, d time.Duration, fn func(context.Context) error) error {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("key lifecycle pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Active returns the kid and private key to sign new tokens with: the newest
// key whose activation time has passed.
func (m *Manager) Active() (string, *ecdsa.PrivateKey, error) {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	for i := len(m.keys) - 1; i >= 0; i-- {
		if k := m.keys[i]; !now.Before(k.ActivateAt) {
			return k.KID, k.priv, nil
		}
	}
	return "", nil, errors.New("jwks: no active signing key")
}

// PublicKey returns the published key with the given kid.
func (m *Manager) PublicKey(kid string) (*ecdsa.PublicKey, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, k := range m.keys {
		if k.KID == kid {
			return &k.priv.PublicKey, true
		}
	}
	return nil, false
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

// ServeHTTP serves the JWK Set: every published key, active or not.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.RLock()
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(m.keys))}
	for _, k := range m.keys {
		pub, err := publicJWK(&k.priv.PublicKey)
		if err != nil {
			continue
		}
		pub.Kid, pub.Use, pub.Alg = k.KID, "sig", "ES256"
		set.Keys = append(set.Keys, pub)
	}
	m.mu.RUnlock()

	w.Header().Set("Content-Type", "application/jwk-set+json")
	// Shorter than PrePublish, so caches see a new key before it signs.
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(set)
}

func publicJWK(pub *ecdsa.PublicKey) (jwk, error) {
	ecdh, err := pub.ECDH()
	if err != nil {
		return jwk{}, fmt.Errorf("jwks: public key: %w", err)
	}
	raw := ecdh.Bytes() // 0x04 || X || Y, 32 bytes each for P-256
	enc := base64.RawURLEncoding
	return jwk{Kty: "EC", Crv: "P-256", X: enc.EncodeToString(raw[1:33]), Y: enc.EncodeToString(raw[33:])}, nil
}

// thumbprint is the RFC 7638 JWK thumbprint, used as the kid.
func thumbprint(pub *ecdsa.PublicKey) (string, error) {
	k, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	// Members in lexicographic order, no whitespace, as RFC 7638 requires.
	canonical := fmt.Sprintf(`{"crv":%q,"kty":%q,"x":%q,"y":%q}`, k.Crv, k.Kty, k.X, k.Y)
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
