// Package auth holds the request authentication used on the agent routes.
package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Headers an agent sets on every signed request.
const (
	HeaderKeyID     = "X-Zen-Key-Id"
	HeaderTimestamp = "X-Zen-Timestamp"
	HeaderSignature = "X-Zen-Signature"
)

const (
	defaultMaxSkew = 5 * time.Minute
	defaultMaxBody = 8 << 20
)

// KeyLookup returns an agent's HMAC key by key ID. It must return an error
// for unknown keys and for a previous key whose overlap window has closed.
type KeyLookup interface {
	HMACKey(ctx context.Context, agentID, keyID string) ([]byte, error)
}

// HMACVerifier checks the HMAC-SHA256 signature of agent requests. It fails
// closed: a request is passed on only when every check succeeds.
type HMACVerifier struct {
	keys     KeyLookup
	agentID  func(*http.Request) (string, bool)
	maxSkew  time.Duration
	maxBody  int64
	now      func() time.Time
	onReject func(r *http.Request, reason string)
}

// Option configures an HMACVerifier.
type Option func(*HMACVerifier)

// WithMaxSkew bounds the difference between the signed timestamp and now.
func WithMaxSkew(d time.Duration) Option { return func(v *HMACVerifier) { v.maxSkew = d } }

// WithMaxBody bounds the size of a signed body.
func WithMaxBody(n int64) Option { return func(v *HMACVerifier) { v.maxBody = n } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(v *HMACVerifier) { v.now = now } }

// WithRejectHook is called with a short machine-readable reason for every
// rejected request (metrics, audit). It must not write to the response.
func WithRejectHook(fn func(r *http.Request, reason string)) Option {
	return func(v *HMACVerifier) { v.onReject = fn }
}

// NewHMACVerifier returns a verifier that resolves keys with keys and learns
// which agent is calling from agentID (the SPIFFE identity of the connection).
func NewHMACVerifier(keys KeyLookup, agentID func(*http.Request) (string, bool), opts ...Option) *HMACVerifier {
	v := &HMACVerifier{
		keys:     keys,
		agentID:  agentID,
		maxSkew:  defaultMaxSkew,
		maxBody:  defaultMaxBody,
		now:      time.Now,
		onReject: func(*http.Request, string) {},
	}
	for _, opt := range opts {
		opt(v)
	}
	return v
}

// CanonicalRequest is what an agent signs: the method, path, raw query,
// timestamp and the hex SHA-256 of the body, one per line.
func CanonicalRequest(method, path, rawQuery, timestamp string, body []byte) []byte {
	sum := sha256.Sum256(body)
	var b bytes.Buffer
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(rawQuery)
	b.WriteByte('\n')
	b.WriteString(timestamp)
	b.WriteByte('\n')
	b.WriteString(hex.EncodeToString(sum[:]))
	return b.Bytes()
}

// Sign returns the hex HMAC-SHA256 of canonical under key.
func Sign(key, canonical []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(canonical)
	return hex.EncodeToString(mac.Sum(nil))
}

// Middleware verifies the signature before calling next. Every failure ends
// in 401 (413 for an oversized body) and never reaches next.
func (v *HMACVerifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agentID, ok := v.agentID(r)
		if !ok {
			v.onReject(r, "no_agent_identity")
			http.Error(w, "unauthenticated agent", http.StatusUnauthorized)
			return
		}
		sig := r.Header.Get(HeaderSignature)
		keyID := r.Header.Get(HeaderKeyID)
		ts := r.Header.Get(HeaderTimestamp)
		if sig == "" || keyID == "" || ts == "" {
			v.onReject(r, "missing_signature")
			http.Error(w, "missing request signature", http.StatusUnauthorized)
			return
		}
		unix, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || v.now().Sub(time.Unix(unix, 0)).Abs() > v.maxSkew {
			v.onReject(r, "stale_timestamp")
			http.Error(w, "request timestamp out of range", http.StatusUnauthorized)
			return
		}
		given, err := hex.DecodeString(sig)
		if err != nil || len(given) != sha256.Size {
			v.onReject(r, "malformed_signature")
			http.Error(w, "malformed request signature", http.StatusUnauthorized)
			return
		}
		key, err := v.keys.HMACKey(r.Context(), agentID, keyID)
		if err != nil {
			v.onReject(r, "unknown_key")
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, v.maxBody+1))
		if err != nil {
			v.onReject(r, "body_read")
			http.Error(w, "invalid request body", http.StatusBadRequest)
			return
		}
		if int64(len(body)) > v.maxBody {
			v.onReject(r, "body_too_large")
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		mac := hmac.New(sha256.New, key)
		mac.Write(CanonicalRequest(r.Method, r.URL.Path, r.URL.RawQuery, ts, body))
		if !hmac.Equal(mac.Sum(nil), given) {
			v.onReject(r, "bad_signature")
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
