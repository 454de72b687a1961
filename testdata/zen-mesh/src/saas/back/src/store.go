package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	backcmd "github.com/zen-mesh/zen-mesh/src/saas/back/cmd"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/identity"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/jwks"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/rotation"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/zenlock"
)

var (
	errNotFound = errors.New("not found")
	errConflict = errors.New("already exists")
)

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// newID returns a random identifier with a type prefix ("cl_3f9a...").
func newID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

// store is the PostgreSQL persistence of the back end.
type store struct {
	db      *sql.DB
	timeout time.Duration
}

func newStore(db *sql.DB, timeout time.Duration) *store {
	return &store{db: db, timeout: timeout}
}

// withTimeout bounds one store call, whatever the caller's deadline.
func (s *store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// inTx runs fn in a transaction and commits if it returns nil.
func (s *store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, rbErr)
		}
		return err
	}
	return tx.Commit()
}

// Ping is the readiness probe of the database.
func (s *store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.db.PingContext(ctx)
}

// Tenant is a customer organisation.
type Tenant struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Plan      string    `json:"plan"`
	Suspended bool      `json:"suspended"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *store) Tenant(ctx context.Context, id string) (Tenant, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var t Tenant
	err := s.db.QueryRowContext(ctx,
		`SELECT id, slug, name, plan, suspended, created_at FROM tenants WHERE id = $1`, id,
	).Scan(&t.ID, &t.Slug, &t.Name, &t.Plan, &t.Suspended, &t.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, errNotFound
	}
	return t, err
}

// Cluster is a customer Kubernetes cluster with one agent.
type Cluster struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *store) ListClusters(ctx context.Context, tenantID string) ([]Cluster, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, `
SELECT id, tenant_id, name, region, created_at
FROM clusters
WHERE tenant_id = $1 AND deleted_at IS NULL
ORDER BY name`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Cluster
	for rows.Next() {
		var c Cluster
		if err := rows.Scan(&c.ID, &c.TenantID, &c.Name, &c.Region, &c.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *store) Cluster(ctx context.Context, tenantID, id string) (Cluster, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var c Cluster
	err := s.db.QueryRowContext(ctx, `
SELECT id, tenant_id, name, region, created_at
FROM clusters
WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`, tenantID, id,
	).Scan(&c.ID, &c.TenantID, &c.Name, &c.Region, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Cluster{}, errNotFound
	}
	return c, err
}

// CreateCluster inserts c with a new ID and a revision counter at zero.
func (s *store) CreateCluster(ctx context.Context, c Cluster) (Cluster, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	c.ID = newID("cl")
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `
INSERT INTO clusters (id, tenant_id, name, region)
VALUES ($1, $2, $3, $4)
RETURNING created_at`, c.ID, c.TenantID, c.Name, c.Region).Scan(&c.CreatedAt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cluster_revisions (cluster_id) VALUES ($1)`, c.ID); err != nil {
			return err
		}
		return enqueueEvent(ctx, tx, newEvent("cluster.created", c.TenantID, c))
	})
	if isUniqueViolation(err) {
		return Cluster{}, errConflict
	}
	return c, err
}

// DeleteCluster soft-deletes a cluster. Its agent is refused from then on
// because RecordHeartbeat only matches live clusters.
func (s *store) DeleteCluster(ctx context.Context, tenantID, id string) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
UPDATE clusters SET deleted_at = now()
WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`, tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNotFound
		}
		return enqueueEvent(ctx, tx, newEvent("cluster.deleted", tenantID, map[string]string{"cluster_id": id}))
	})
}

// AgentRecord is an agent as stored.
type AgentRecord struct {
	ID         string            `json:"id"`
	TenantID   string            `json:"tenant_id"`
	ClusterID  string            `json:"cluster_id"`
	SPIFFEID   string            `json:"spiffe_id"`
	Version    string            `json:"version"`
	Adapters   map[string]string `json:"adapters"`
	LastSeenAt *time.Time        `json:"last_seen_at,omitempty"`
	Stale      bool              `json:"stale"`
}

func (s *store) ListAgents(ctx context.Context, tenantID, clusterID string) ([]AgentRecord, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, `
SELECT id, tenant_id, cluster_id, spiffe_id, version, adapters, last_seen_at, stale
FROM agents
WHERE tenant_id = $1 AND cluster_id = $2
ORDER BY id`, tenantID, clusterID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AgentRecord
	for rows.Next() {
		var (
			a        AgentRecord
			adapters []byte
			lastSeen sql.NullTime
		)
		if err := rows.Scan(&a.ID, &a.TenantID, &a.ClusterID, &a.SPIFFEID, &a.Version, &adapters, &lastSeen, &a.Stale); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(adapters, &a.Adapters); err != nil {
			return nil, fmt.Errorf("agent %s: adapters: %w", a.ID, err)
		}
		if lastSeen.Valid {
			a.LastSeenAt = &lastSeen.Time
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// RecordHeartbeat stores a heartbeat of the agent named by the verified
// SPIFFE identity. It matches on both the agent ID and the full SPIFFE ID, so
// an SVID for one agent can never update another. It reports whether the
// agent had been marked stale.
func (s *store) RecordHeartbeat(ctx context.Context, a identity.Agent, version string, adapters map[string]string, at time.Time) (wasStale bool, err error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	health, err := json.Marshal(adapters)
	if err != nil {
		return false, err
	}
	err = s.db.QueryRowContext(ctx, `
WITH prev AS (
    SELECT a.id, a.stale
    FROM agents a JOIN clusters c ON c.id = a.cluster_id
    WHERE a.id = $1 AND a.spiffe_id = $2 AND c.deleted_at IS NULL
    FOR UPDATE OF a
)
UPDATE agents
SET version = $3, adapters = $4, last_seen_at = $5, stale = false
FROM prev
WHERE agents.id = prev.id
RETURNING prev.stale`, a.AgentID, a.ID.String(), version, health, at).Scan(&wasStale)
	if errors.Is(err, sql.ErrNoRows) {
		return false, errNotFound
	}
	return wasStale, err
}

// MarkStaleAgents flags agents not seen since before and returns them.
func (s *store) MarkStaleAgents(ctx context.Context, before time.Time) ([]AgentRecord, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, `
UPDATE agents SET stale = true
WHERE NOT stale AND last_seen_at < $1
RETURNING id, tenant_id, cluster_id, spiffe_id`, before)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AgentRecord
	for rows.Next() {
		a := AgentRecord{Stale: true}
		if err := rows.Scan(&a.ID, &a.TenantID, &a.ClusterID, &a.SPIFFEID); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DesiredAdapter is an adapter the customer wants running in a cluster.
type DesiredAdapter struct {
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Version   string          `json:"version"`
	Config    json.RawMessage `json:"config,omitempty"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// DesiredState returns the cluster's revision and desired adapters, read in
// one snapshot so that the two agree.
func (s *store) DesiredState(ctx context.Context, clusterID string) (int64, []DesiredAdapter, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return 0, nil, err
	}
	defer tx.Rollback()

	var rev int64
	if err := tx.QueryRowContext(ctx, `SELECT revision FROM cluster_revisions WHERE cluster_id = $1`, clusterID).Scan(&rev); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil, errNotFound
		}
		return 0, nil, err
	}
	rows, err := tx.QueryContext(ctx, `
SELECT name, kind, version, config, updated_at
FROM desired_adapters WHERE cluster_id = $1 ORDER BY name`, clusterID)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var adapters []DesiredAdapter
	for rows.Next() {
		var a DesiredAdapter
		if err := rows.Scan(&a.Name, &a.Kind, &a.Version, &a.Config, &a.UpdatedAt); err != nil {
			return 0, nil, err
		}
		adapters = append(adapters, a)
	}
	return rev, adapters, rows.Err()
}

// bumpRevision increments and returns the cluster's desired-state revision.
func bumpRevision(ctx context.Context, tx *sql.Tx, clusterID string) (int64, error) {
	var rev int64
	err := tx.QueryRowContext(ctx, `
UPDATE cluster_revisions SET revision = revision + 1
WHERE cluster_id = $1
RETURNING revision`, clusterID).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNotFound
	}
	return rev, err
}

func (s *store) PutDesiredAdapter(ctx context.Context, tenantID, clusterID string, a DesiredAdapter) (int64, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var rev int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
INSERT INTO desired_adapters (cluster_id, name, kind, version, config)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (cluster_id, name) DO UPDATE
SET kind = EXCLUDED.kind, version = EXCLUDED.version, config = EXCLUDED.config, updated_at = now()`,
			clusterID, a.Name, a.Kind, a.Version, []byte(a.Config)); err != nil {
			return err
		}
		var err error
		if rev, err = bumpRevision(ctx, tx, clusterID); err != nil {
			return err
		}
		return enqueueEvent(ctx, tx, newEvent("adapter.desired_changed", tenantID, map[string]any{
			"cluster_id": clusterID, "adapter": a.Name, "revision": rev,
		}))
	})
	return rev, err
}

func (s *store) DeleteDesiredAdapter(ctx context.Context, tenantID, clusterID, name string) (int64, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var rev int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM desired_adapters WHERE cluster_id = $1 AND name = $2`, clusterID, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNotFound
		}
		if rev, err = bumpRevision(ctx, tx, clusterID); err != nil {
			return err
		}
		return enqueueEvent(ctx, tx, newEvent("adapter.desired_changed", tenantID, map[string]any{
			"cluster_id": clusterID, "adapter": name, "revision": rev, "deleted": true,
		}))
	})
	return rev, err
}

// ReplaceObservedAdapters stores the inventory an agent reported. Older
// revisions than the stored one are ignored: syncs can arrive out of order
// after an agent reconnects.
func (s *store) ReplaceObservedAdapters(ctx context.Context, clusterID string, revision int64, observed []backcmd.AdapterObserved) (applied bool, err error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var stored sql.NullInt64
		if err := tx.QueryRowContext(ctx, `
SELECT max(revision) FROM observed_adapters WHERE cluster_id = $1`, clusterID).Scan(&stored); err != nil {
			return err
		}
		if stored.Valid && stored.Int64 > revision {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM observed_adapters WHERE cluster_id = $1`, clusterID); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `
INSERT INTO observed_adapters (cluster_id, name, kind, version, endpoints, revision)
VALUES ($1, $2, $3, $4, $5, $6)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, a := range observed {
			if _, err := stmt.ExecContext(ctx, clusterID, a.Name, a.Kind, a.Version, a.Endpoints, revision); err != nil {
				return fmt.Errorf("adapter %s: %w", a.Name, err)
			}
		}
		applied = true
		return nil
	})
	return applied, err
}

// AllowlistEntry is one egress destination pattern of a tenant.
type AllowlistEntry struct {
	ID        string    `json:"id"`
	Pattern   string    `json:"pattern"`
	Comment   string    `json:"comment,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *store) AllowlistEntries(ctx context.Context, tenantID string) ([]AllowlistEntry, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, `
SELECT id, pattern, comment, created_by, created_at
FROM allowlist_entries WHERE tenant_id = $1 ORDER BY pattern`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AllowlistEntry
	for rows.Next() {
		var e AllowlistEntry
		if err := rows.Scan(&e.ID, &e.Pattern, &e.Comment, &e.CreatedBy, &e.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *store) AddAllowlistEntry(ctx context.Context, tenantID string, e AllowlistEntry) (AllowlistEntry, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	e.ID = newID("al")
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `
INSERT INTO allowlist_entries (id, tenant_id, pattern, comment, created_by)
VALUES ($1, $2, $3, $4, $5)
RETURNING created_at`, e.ID, tenantID, e.Pattern, e.Comment, e.CreatedBy).Scan(&e.CreatedAt); err != nil {
			return err
		}
		return enqueueEvent(ctx, tx, newEvent("allowlist.changed", tenantID, e))
	})
	if isUniqueViolation(err) {
		return AllowlistEntry{}, errConflict
	}
	return e, err
}

func (s *store) DeleteAllowlistEntry(ctx context.Context, tenantID, id string) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM allowlist_entries WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNotFound
		}
		return enqueueEvent(ctx, tx, newEvent("allowlist.changed", tenantID, map[string]string{"deleted": id}))
	})
}

// AuditEntry is one customer-visible audit record.
type AuditEntry struct {
	ID        int64     `json:"id"`
	TenantID  string    `json:"-"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Target    string    `json:"target,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	RemoteIP  string    `json:"remote_ip,omitempty"`
	At        time.Time `json:"at"`
}

func (s *store) InsertAudit(ctx context.Context, e AuditEntry) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var ip any
	if e.RemoteIP != "" {
		ip = e.RemoteIP
	}
	_, err := s.db.ExecContext(ctx, `
INSERT INTO audit_log (tenant_id, actor, action, target, request_id, remote_ip)
VALUES ($1, $2, $3, $4, $5, $6)`, e.TenantID, e.Actor, e.Action, e.Target, e.RequestID, ip)
	return err
}

// ListAudit pages backwards through a tenant's audit log: entries with an ID
// below before (all when before is 0), newest first.
func (s *store) ListAudit(ctx context.Context, tenantID string, before int64, limit int) ([]AuditEntry, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.db.QueryContext(ctx, `
SELECT id, actor, action, target, request_id, COALESCE(host(remote_ip), ''), at
FROM audit_log
WHERE tenant_id = $1 AND id < $2
ORDER BY id DESC
LIMIT $3`, tenantID, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e := AuditEntry{TenantID: tenantID}
		if err := rows.Scan(&e.ID, &e.Actor, &e.Action, &e.Target, &e.RequestID, &e.RemoteIP, &e.At); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteAuditBefore deletes at most batch entries older than cutoff.
func (s *store) DeleteAuditBefore(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	res, err := s.db.ExecContext(ctx, `
DELETE FROM audit_log
WHERE id IN (SELECT id FROM audit_log WHERE at < $1 ORDER BY id LIMIT $2)`, cutoff, batch)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// APIToken is a long-lived credential a customer exchanges for short-lived
// JWTs. Only a peppered hash of the secret is stored.
type APIToken struct {
	ID        string     `json:"id"`
	TenantID  string     `json:"tenant_id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (s *store) CreateAPIToken(ctx context.Context, t APIToken, hash []byte) (APIToken, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	t.ID = newID("tok")
	err := s.db.QueryRowContext(ctx, `
INSERT INTO api_tokens (id, tenant_id, name, hash, scopes, created_by, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING created_at`, t.ID, t.TenantID, t.Name, hash, t.Scopes, t.CreatedBy, t.ExpiresAt).Scan(&t.CreatedAt)
	return t, err
}

// UseAPIToken returns the live token with the given hash and records its use.
func (s *store) UseAPIToken(ctx context.Context, hash []byte) (APIToken, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var (
		t       APIToken
		scopes  string
		expires sql.NullTime
	)
	err := s.db.QueryRowContext(ctx, `
UPDATE api_tokens SET last_used_at = now()
WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
RETURNING id, tenant_id, name, array_to_string(scopes, ' '), created_by, created_at, expires_at`, hash,
	).Scan(&t.ID, &t.TenantID, &t.Name, &scopes, &t.CreatedBy, &t.CreatedAt, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, errNotFound
	}
	if err != nil {
		return APIToken{}, err
	}
	t.Scopes = strings.Fields(scopes)
	if expires.Valid {
		t.ExpiresAt = &expires.Time
	}
	return t, nil
}

// Webhook is a customer endpoint that receives domain events.
type Webhook struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"-"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    []byte    `json:"-"`
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *store) scanWebhooks(rows *sql.Rows) ([]Webhook, error) {
	defer rows.Close()
	var out []Webhook
	for rows.Next() {
		var (
			w      Webhook
			events string
		)
		if err := rows.Scan(&w.ID, &w.TenantID, &w.URL, &events, &w.Secret, &w.Enabled, &w.CreatedAt); err != nil {
			return nil, err
		}
		w.Events = strings.Fields(events)
		out = append(out, w)
	}
	return out, rows.Err()
}

func (s *store) ListWebhooks(ctx context.Context, tenantID string) ([]Webhook, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, `
SELECT id, tenant_id, url, array_to_string(events, ' '), secret, enabled, created_at
FROM webhooks WHERE tenant_id = $1 ORDER BY created_at`, tenantID)
	if err != nil {
		return nil, err
	}
	return s.scanWebhooks(rows)
}

// WebhooksFor returns the enabled webhooks of a tenant subscribed to eventType.
func (s *store) WebhooksFor(ctx context.Context, tenantID, eventType string) ([]Webhook, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, `
SELECT id, tenant_id, url, array_to_string(events, ' '), secret, enabled, created_at
FROM webhooks WHERE tenant_id = $1 AND enabled AND $2 = ANY(events)`, tenantID, eventType)
	if err != nil {
		return nil, err
	}
	return s.scanWebhooks(rows)
}

func (s *store) CreateWebhook(ctx context.Context, w Webhook) (Webhook, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	w.ID = newID("wh")
	w.Enabled = true
	err := s.db.QueryRowContext(ctx, `
INSERT INTO webhooks (id, tenant_id, url, events, secret)
VALUES ($1, $2, $3, $4, $5)
RETURNING created_at`, w.ID, w.TenantID, w.URL, w.Events, w.Secret).Scan(&w.CreatedAt)
	return w, err
}

// outboxRow is an event waiting to be relayed to NATS.
type outboxRow struct {
	seq int64
	ev  Event
}

// enqueueEvent writes ev to the outbox inside the caller's transaction, so
// the event exists if and only if the change that caused it was committed.
func enqueueEvent(ctx context.Context, tx *sql.Tx, ev Event) error {
	_, err := tx.ExecContext(ctx, `
INSERT INTO outbox (event_id, tenant_id, type, payload, created_at)
VALUES ($1, $2, $3, $4, $5)`, ev.ID, ev.TenantID, ev.Type, []byte(ev.Data), ev.At)
	return err
}

// EnqueueEvent writes an event that is not tied to another change.
func (s *store) EnqueueEvent(ctx context.Context, ev Event) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return s.inTx(ctx, func(tx *sql.Tx) error { return enqueueEvent(ctx, tx, ev) })
}

func (s *store) PendingEvents(ctx context.Context, limit int) ([]outboxRow, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, `
SELECT id, event_id, tenant_id, type, payload, created_at
FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var (
			r       outboxRow
			payload []byte
		)
		if err := rows.Scan(&r.seq, &r.ev.ID, &r.ev.TenantID, &r.ev.Type, &payload, &r.ev.At); err != nil {
			return nil, err
		}
		r.ev.Data = payload
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *store) MarkEventsSent(ctx context.Context, seqs []int64) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET sent_at = now() WHERE id = ANY($1)`, seqs)
	return err
}

func (s *store) CountPendingEvents(ctx context.Context) (int64, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`).Scan(&n)
	return n, err
}

// usageKey identifies one daily usage counter.
type usageKey struct {
	tenantID string
	day      string // YYYY-MM-DD, UTC
	metric   string
}

// AddUsage adds the given deltas to the daily counters.
func (s *store) AddUsage(ctx context.Context, deltas map[usageKey]int64) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `
INSERT INTO usage_daily (tenant_id, day, metric, value)
VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_id, day, metric) DO UPDATE SET value = usage_daily.value + EXCLUDED.value`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for k, v := range deltas {
			if _, err := stmt.ExecContext(ctx, k.tenantID, k.day, k.metric, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// hmacStateStore persists rotation.KeyState in hmac_key_state.
type hmacStateStore struct {
	s *store
}

var _ rotation.StateStore = hmacStateStore{}

const hmacStateColumns = `a.id, k.current_key_id, k.current_version, k.previous_key_id,
       k.previous_version, k.previous_not_after, k.rotated_at`

func scanKeyState(row interface{ Scan(...any) error }) (rotation.KeyState, error) {
	var (
		st          rotation.KeyState
		curID       sql.NullString
		curVersion  sql.NullInt64
		prevID      sql.NullString
		prevVersion sql.NullInt64
		prevUntil   sql.NullTime
		rotatedAt   sql.NullTime
	)
	if err := row.Scan(&st.AgentID, &curID, &curVersion, &prevID, &prevVersion, &prevUntil, &rotatedAt); err != nil {
		return st, err
	}
	st.Current = rotation.KeyVersion{KeyID: curID.String, Version: zenlock.Version(curVersion.Int64)}
	st.RotatedAt = rotatedAt.Time
	if prevID.Valid {
		st.Previous = &rotation.KeyVersion{
			KeyID:    prevID.String,
			Version:  zenlock.Version(prevVersion.Int64),
			NotAfter: prevUntil.Time,
		}
	}
	return st, nil
}

// List returns the key state of every agent, including agents that have no
// key yet (their state is empty, which makes the controller issue one).
func (h hmacStateStore) List(ctx context.Context) ([]rotation.KeyState, error) {
	ctx, cancel := h.s.withTimeout(ctx)
	defer cancel()
	rows, err := h.s.db.QueryContext(ctx, `
SELECT `+hmacStateColumns+`
FROM agents a LEFT JOIN hmac_key_state k ON k.agent_id = a.id
ORDER BY a.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rotation.KeyState
	for rows.Next() {
		st, err := scanKeyState(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

func (h hmacStateStore) Load(ctx context.Context, agentID string) (rotation.KeyState, error) {
	ctx, cancel := h.s.withTimeout(ctx)
	defer cancel()
	st, err := scanKeyState(h.s.db.QueryRowContext(ctx, `
SELECT `+hmacStateColumns+`
FROM agents a JOIN hmac_key_state k ON k.agent_id = a.id
WHERE a.id = $1`, agentID))
	if errors.Is(err, sql.ErrNoRows) {
		return rotation.KeyState{}, errNotFound
	}
	return st, err
}

// Save writes st if the stored rotated_at still equals expectRotatedAt (zero
// for an agent without state), and reports rotation.ErrStaleState otherwise.
func (h hmacStateStore) Save(ctx context.Context, st rotation.KeyState, expectRotatedAt time.Time) error {
	ctx, cancel := h.s.withTimeout(ctx)
	defer cancel()
	var prevID, prevVersion, prevUntil any
	if st.Previous != nil {
		prevID, prevVersion, prevUntil = st.Previous.KeyID, int64(st.Previous.Version), st.Previous.NotAfter
	}
	var (
		res sql.Result
		err error
	)
	if expectRotatedAt.IsZero() {
		res, err = h.s.db.ExecContext(ctx, `
INSERT INTO hmac_key_state (agent_id, current_key_id, current_version, previous_key_id, previous_version, previous_not_after, rotated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (agent_id) DO NOTHING`,
			st.AgentID, st.Current.KeyID, int64(st.Current.Version), prevID, prevVersion, prevUntil, st.RotatedAt)
	} else {
		res, err = h.s.db.ExecContext(ctx, `
UPDATE hmac_key_state
SET current_key_id = $2, current_version = $3, previous_key_id = $4,
    previous_version = $5, previous_not_after = $6, rotated_at = $7
WHERE agent_id = $1 AND rotated_at = $8`,
			st.AgentID, st.Current.KeyID, int64(st.Current.Version), prevID, prevVersion, prevUntil, st.RotatedAt, expectRotatedAt)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return rotation.ErrStaleState
	}
	return nil
}

// jwksIndex persists the JWKS key records (no key material: that stays in
// ZenLock custody).
type jwksIndex struct {
	s *store
}

var _ jwks.Index = jwksIndex{}

func (j jwksIndex) Load(ctx context.Context) ([]jwks.KeyRecord, error) {
	ctx, cancel := j.s.withTimeout(ctx)
	defer cancel()
	rows, err := j.s.db.QueryContext(ctx, `
SELECT kid, version, created_at, activate_at, retire_at
FROM jwks_keys ORDER BY activate_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jwks.KeyRecord
	for rows.Next() {
		var (
			r       jwks.KeyRecord
			version int64
			retire  sql.NullTime
		)
		if err := rows.Scan(&r.KID, &version, &r.CreatedAt, &r.ActivateAt, &retire); err != nil {
			return nil, err
		}
		r.Version = zenlock.Version(version)
		r.RetireAt = retire.Time
		out = append(out, r)
	}
	return out, rows.Err()
}

// Save replaces the whole index in one transaction.
func (j jwksIndex) Save(ctx context.Context, records []jwks.KeyRecord) error {
	ctx, cancel := j.s.withTimeout(ctx)
	defer cancel()
	return j.s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM jwks_keys`); err != nil {
			return err
		}
		for _, r := range records {
			var retire any
			if !r.RetireAt.IsZero() {
				retire = r.RetireAt
			}
			if _, err := tx.ExecContext(ctx, `
INSERT INTO jwks_keys (kid, version, created_at, activate_at, retire_at)
VALUES ($1, $2, $3, $4, $5)`, r.KID, int64(r.Version), r.CreatedAt, r.ActivateAt, retire); err != nil {
				return err
			}
		}
		return nil
	})
}
