// Package rotation owns the lifecycle of the per-agent HMAC keys that sign
// agent requests.
package rotation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/zenlock"
)

const keySize = 32

// ErrStaleState is returned by a StateStore when the state changed since it
// was loaded; the controller retries on the next pass.
var ErrStaleState = errors.New("rotation: key state changed concurrently")

// Custody is the part of the ZenLock client the controller uses. ZenLock keeps
// the material encrypted and delivers it to the agent; the controller decides
// when a key rotates and which versions are accepted.
type Custody interface {
	Put(ctx context.Context, ref zenlock.SecretRef, material []byte, labels map[string]string) (zenlock.Version, error)
	Get(ctx context.Context, ref zenlock.SecretRef, v zenlock.Version) ([]byte, error)
	Distribute(ctx context.Context, ref zenlock.SecretRef, v zenlock.Version, to zenlock.Audience) error
	Destroy(ctx context.Context, ref zenlock.SecretRef, v zenlock.Version) error
	Audit(ctx context.Context, ev zenlock.AuditEvent) error
}

// KeyVersion is one HMAC key of an agent.
type KeyVersion struct {
	KeyID   string
	Version zenlock.Version
	// NotAfter is zero for the current key. For the previous key it is the
	// end of the overlap window, after which signatures with it are refused.
	NotAfter time.Time
}

// KeyState is the rotation state of one agent.
type KeyState struct {
	AgentID   string
	Current   KeyVersion
	Previous  *KeyVersion
	RotatedAt time.Time
}

// StateStore persists KeyState. Save must fail with ErrStaleState when the
// stored RotatedAt differs from expectRotatedAt.
type StateStore interface {
	List(ctx context.Context) ([]KeyState, error)
	Load(ctx context.Context, agentID string) (KeyState, error)
	Save(ctx context.Context, st KeyState, expectRotatedAt time.Time) error
}

// Config configures an HMACKeyRotationController.
type Config struct {
	Custody  Custody
	State    StateStore
	Interval time.Duration // age at which the current key is replaced
	Overlap  time.Duration // how long the replaced key is still accepted
	Resync   time.Duration // how often all agents are reconciled
	Logger   *slog.Logger
}

// HMACKeyRotationController rotates agent HMAC keys. A rotation creates the
// new key in ZenLock custody, distributes it to the agent, and keeps the
// previous key valid for an overlap window so that requests signed while the
// agent picks up the new key still verify.
type HMACKeyRotationController struct {
	custody  Custody
	state    StateStore
	interval time.Duration
	overlap  time.Duration
	resync   time.Duration
	now      func() time.Time
	log      *slog.Logger
}

// NewHMACKeyRotationController validates cfg and returns a controller.
func NewHMACKeyRotationController(cfg Config) (*HMACKeyRotationController, error) {
	if cfg.Custody == nil || cfg.State == nil {
		return nil, errors.New("rotation: custody client and state store are required")
	}
	if cfg.Overlap <= 0 || cfg.Overlap >= cfg.Interval {
		return nil, fmt.Errorf("rotation: overlap %s must be positive and shorter than the interval %s", cfg.Overlap, cfg.Interval)
	}
	if cfg.Resync <= 0 {
		cfg.Resync = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &HMACKeyRotationController{
		custody:  cfg.Custody,
		state:    cfg.State,
		interval: cfg.Interval,
		overlap:  cfg.Overlap,
		resync:   cfg.Resync,
		now:      time.Now,
		log:      cfg.Logger.With("component", "hmac-key-rotation"),
	}, nil
}

// Run reconciles every agent each resync period until ctx is done.
func (c *HMACKeyRotationController) Run(ctx context.Context) error {
	t := time.NewTicker(c.resync)
	defer t.Stop()
	for {
		if err := c.reconcileAll(ctx); err != nil {
			c.log.Error("reconcile pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (c *HMACKeyRotationController) reconcileAll(ctx context.Context) error {
	states, err := c.state.List(ctx)
	if err != nil {
		return fmt.Errorf("list key state: %w", err)
	}
	var errs []error
	for _, st := range states {
		if err := c.reconcile(ctx, st); err != nil && !errors.Is(err, ErrStaleState) {
			errs = append(errs, fmt.Errorf("agent %s: %w", st.AgentID, err))
		}
	}
	return errors.Join(errs...)
}

// reconcile retires a previous key whose overlap window has closed, then
// rotates the current key once it is older than the interval.
func (c *HMACKeyRotationController) reconcile(ctx context.Context, st KeyState) error {
	now := c.now()
	if st.Previous != nil && !now.Before(st.Previous.NotAfter) {
		retired := *st.Previous
		next := st
		next.Previous = nil
		if err := c.state.Save(ctx, next, st.RotatedAt); err != nil {
			return err
		}
		if err := c.custody.Destroy(ctx, agentSecret(st.AgentID), retired.Version); err != nil {
			return fmt.Errorf("destroy retired key %s: %w", retired.KeyID, err)
		}
		c.log.Info("retired previous HMAC key", "agent", st.AgentID, "key_id", retired.KeyID)
		st = next
	}
	if st.Current.KeyID != "" && now.Sub(st.RotatedAt) < c.interval {
		return nil
	}
	_, err := c.Rotate(ctx, st)
	return err
}

// Rotate replaces the current key of st.AgentID. It refuses to run while a
// previous key is still inside its overlap window: dropping it early would
// break agents that have not picked up the current key yet.
func (c *HMACKeyRotationController) Rotate(ctx context.Context, st KeyState) (KeyState, error) {
	if st.Previous != nil {
		return st, fmt.Errorf("rotation: previous key %s is valid until %s", st.Previous.KeyID, st.Previous.NotAfter.Format(time.RFC3339))
	}
	material := make([]byte, keySize)
	if _, err := rand.Read(material); err != nil {
		return st, fmt.Errorf("generate key: %w", err)
	}
	defer clear(material)

	keyID, err := newKeyID()
	if err != nil {
		return st, err
	}
	ref := agentSecret(st.AgentID)
	version, err := c.custody.Put(ctx, ref, material, map[string]string{
		"kind":   "agent-hmac",
		"agent":  st.AgentID,
		"key_id": keyID,
	})
	if err != nil {
		return st, err
	}
	if err := c.custody.Distribute(ctx, ref, version, zenlock.Audience{AgentID: st.AgentID}); err != nil {
		return st, err
	}

	now := c.now()
	next := KeyState{
		AgentID:   st.AgentID,
		Current:   KeyVersion{KeyID: keyID, Version: version},
		RotatedAt: now,
	}
	if st.Current.KeyID != "" {
		prev := st.Current
		prev.NotAfter = now.Add(c.overlap)
		next.Previous = &prev
	}
	if err := c.state.Save(ctx, next, st.RotatedAt); err != nil {
		// The new version stays in custody unused; it is never accepted
		// because the state that would name it was not saved.
		return st, err
	}
	if err := c.custody.Audit(ctx, zenlock.AuditEvent{
		Action:  "hmac_key_rotated",
		Secret:  ref.String(),
		Version: version,
		Reason:  "scheduled rotation",
	}); err != nil {
		c.log.Warn("audit event not recorded", "agent", st.AgentID, "err", err)
	}
	c.log.Info("rotated HMAC key", "agent", st.AgentID, "key_id", keyID, "overlap", c.overlap)
	return next, nil
}

// HMACKey implements auth.KeyLookup: it accepts the current key and the
// previous key until the end of its overlap window.
func (c *HMACKeyRotationController) HMACKey(ctx context.Context, agentID, keyID string) ([]byte, error) {
	st, err := c.state.Load(ctx, agentID)
	if err != nil {
		return nil, err
	}
	switch {
	case keyID == st.Current.KeyID:
		return c.custody.Get(ctx, agentSecret(agentID), st.Current.Version)
	case st.Previous != nil && keyID == st.Previous.KeyID && c.now().Before(st.Previous.NotAfter):
		return c.custody.Get(ctx, agentSecret(agentID), st.Previous.Version)
	default:
		return nil, fmt.Errorf("rotation: key %q is not valid for agent %s", keyID, agentID)
	}
}

func agentSecret(agentID string) zenlock.SecretRef {
	return zenlock.SecretRef{Namespace: "agent-hmac", Name: agentID}
}

func newKeyID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate key id: %w", err)
	}
	return "hk_" + hex.EncodeToString(b[:]), nil
}
