// Package zenlock is the client for ZenLock, the Zen Mesh secret custody
// service.
//
// ZenLock keeps secret material encrypted at rest, hands it to the audiences
// its owner names, and writes an audit event for every access. It is not a
// rotation engine and never decides that a credential is due: the owning
// lifecycle does (HMACKeyRotationController for agent HMAC keys, the JWKS
// lifecycle for token signing keys, cert-manager for certificates) and uses
// this client to protect and distribute the material it produced. Rollout and
// rollback stay with that owner.
package zenlock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

var (
	ErrNotFound  = errors.New("zenlock: secret version not found")
	ErrForbidden = errors.New("zenlock: caller may not access this secret")
)

// SecretRef names a secret. Versions of a secret are immutable.
type SecretRef struct {
	Namespace string
	Name      string
}

func (r SecretRef) String() string { return r.Namespace + "/" + r.Name }

// Version is a secret version number assigned by ZenLock on Put.
type Version int64

// Audience is who a version is distributed to. Exactly one field is set.
type Audience struct {
	AgentID string `json:"agent_id,omitempty"`
	Service string `json:"service,omitempty"`
}

// AuditEvent is an owner-supplied entry in the custody audit log, used for
// actions ZenLock cannot see itself (a rollout decision, a manual revoke).
type AuditEvent struct {
	Action  string    `json:"action"`
	Secret  string    `json:"secret"`
	Version Version   `json:"version,omitempty"`
	Actor   string    `json:"actor"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// Client talks to the ZenLock custody API over mTLS. The *http.Client passed
// to New carries the caller's certificate; ZenLock authorizes on it.
type Client struct {
	base   *url.URL
	http   *http.Client
	caller string
}

// New returns a client for the ZenLock API at baseURL.
func New(baseURL string, httpClient *http.Client, caller string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("zenlock: base URL: %w", err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("zenlock: base URL %q must use https", baseURL)
	}
	if httpClient == nil || caller == "" {
		return nil, errors.New("zenlock: an mTLS http client and a caller name are required")
	}
	return &Client{base: u, http: httpClient, caller: caller}, nil
}

// Put stores material as a new version of ref and returns its number. The
// caller should wipe its copy of material afterwards.
func (c *Client) Put(ctx context.Context, ref SecretRef, material []byte, labels map[string]string) (Version, error) {
	req := struct {
		Material []byte            `json:"material"`
		Labels   map[string]string `json:"labels,omitempty"`
	}{material, labels}
	var resp struct {
		Version Version `json:"version"`
	}
	if err := c.do(ctx, http.MethodPost, c.versionsPath(ref), req, &resp); err != nil {
		return 0, fmt.Errorf("zenlock: put %s: %w", ref, err)
	}
	return resp.Version, nil
}

// Get returns the material of one version of ref.
func (c *Client) Get(ctx context.Context, ref SecretRef, v Version) ([]byte, error) {
	var resp struct {
		Material []byte `json:"material"`
	}
	if err := c.do(ctx, http.MethodGet, c.versionPath(ref, v), nil, &resp); err != nil {
		return nil, fmt.Errorf("zenlock: get %s@%d: %w", ref, v, err)
	}
	return resp.Material, nil
}

// Distribute makes version v of ref readable by the audience. ZenLock pushes
// it to the agent's sealed store or the service's mount; it does not make the
// version the one in use, which is up to the owner.
func (c *Client) Distribute(ctx context.Context, ref SecretRef, v Version, to Audience) error {
	if (to.AgentID == "") == (to.Service == "") {
		return errors.New("zenlock: audience must name exactly one agent or service")
	}
	if err := c.do(ctx, http.MethodPost, c.versionPath(ref, v)+"/distribute", to, nil); err != nil {
		return fmt.Errorf("zenlock: distribute %s@%d: %w", ref, v, err)
	}
	return nil
}

// Destroy removes the material of version v. The audit trail is kept.
func (c *Client) Destroy(ctx context.Context, ref SecretRef, v Version) error {
	if err := c.do(ctx, http.MethodDelete, c.versionPath(ref, v), nil, nil); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("zenlock: destroy %s@%d: %w", ref, v, err)
	}
	return nil
}

// Audit appends an owner event to the custody audit log.
func (c *Client) Audit(ctx context.Context, ev AuditEvent) error {
	if ev.Actor == "" {
		ev.Actor = c.caller
	}
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	return c.do(ctx, http.MethodPost, "/v1/audit/events", ev, nil)
}

func (c *Client) versionsPath(ref SecretRef) string {
	return "/v1/secrets/" + url.PathEscape(ref.Namespace) + "/" + url.PathEscape(ref.Name) + "/versions"
}

func (c *Client) versionPath(ref SecretRef, v Version) string {
	return c.versionsPath(ref) + "/" + strconv.FormatInt(int64(v), 10)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		buf, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.JoinPath(path).String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-ZenLock-Caller", c.caller)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode == http.StatusNotFound:
		return ErrNotFound
	case resp.StatusCode == http.StatusForbidden:
		return ErrForbidden
	case resp.StatusCode >= 300:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
