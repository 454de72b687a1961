// Command zen-saas-back is the Zen Mesh SaaS back end.
//
// One process serves:
//
//   - the agent API on the mTLS listener (port 9443, see ../cmd), the only
//     place agents talk to;
//   - the customer API, the JWK Set and the public endpoints (port 8080);
//   - the operations endpoint with metrics and pprof (port 9090, reachable
//     from inside the cluster only).
//
// and runs the controllers that belong to the back end: HMAC key rotation,
// the JWKS lifecycle, server certificate reloading, the stale-agent sweeper,
// audit retention, the outbox relay, webhook delivery and usage metering.
//
// Every flag can also be set through the ZEN_ environment variable named in
// its help text; a flag given on the command line wins. Secrets can be given
// as files with the _FILE variant of their variable (ZEN_DATABASE_DSN_FILE).
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	backcmd "github.com/zen-mesh/zen-mesh/src/saas/back/cmd"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/auth"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/certreload"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/identity"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/jwks"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/rotation"
	"github.com/zen-mesh/zen-mesh/src/saas/back/internal/zenlock"
	"github.com/zen-mesh/zen-mesh/src/saas/customer-api/evidence"
)

// Set by the release build with -ldflags "-X main.version=...".
var (
	version = "dev"
	commit  = ""
)

const serviceName = "zen-saas-back"

// buildVersion returns the release version, or the VCS revision stamped by
// the Go toolchain for development builds.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	rev, dirty := commit, false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if rev == "" {
				rev = s.Value
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return version
	}
	if dirty {
		rev += "-dirty"
	}
	return version + "+" + rev
}

// Config is the complete configuration of the back end.
type Config struct {
	Env        string // production, staging or development
	InstanceID string

	HTTP      HTTPConfig
	MTLS      MTLSConfig
	Ops       OpsConfig
	Database  DatabaseConfig
	Redis     RedisConfig
	NATS      NATSConfig
	Auth      AuthConfig
	Rotation  RotationConfig
	ZenLock   ZenLockConfig
	Telemetry TelemetryConfig
	RateLimit RateLimitConfig
	Jobs      JobsConfig
	Webhooks  WebhookConfig
	Features  FeatureConfig
	Shutdown  ShutdownConfig
}

// HTTPConfig configures the public listener (customer API, JWKS, health).
type HTTPConfig struct {
	Addr              string
	ReadTimeout       time.Duration
	ReadHeaderTimeout time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	MaxBodyBytes      int64
	TrustedProxies    []string // CIDRs whose X-Forwarded-For is believed
	CORSOrigins       []string
}

// MTLSConfig configures the agent listener. Required exists for old
// deployment manifests that still set ZEN_MTLS_REQUIRED; false is refused.
type MTLSConfig struct {
	Required     bool
	Addr         string
	ClientCAFile string
	CertFile     string
	KeyFile      string
	TrustDomain  string
	HMACMaxSkew  time.Duration
	HMACMaxBody  int64
}

// OpsConfig configures the cluster-internal operations listener.
type OpsConfig struct {
	Addr        string
	EnablePprof bool
}

// DatabaseConfig configures the PostgreSQL pool.
type DatabaseConfig struct {
	DSN              string
	MaxOpenConns     int
	MaxIdleConns     int
	ConnMaxLifetime  time.Duration
	ConnMaxIdleTime  time.Duration
	ConnectTimeout   time.Duration
	ConnectAttempts  int
	StatementTimeout time.Duration
	MigrateOnStart   bool
}

// RedisConfig configures the Redis client used for caches and rate limits.
type RedisConfig struct {
	Addr         string
	Username     string
	Password     string
	DB           int
	TLS          bool
	PoolSize     int
	MinIdleConns int
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	KeyPrefix    string
}

// NATSConfig configures the JetStream connection for domain events.
type NATSConfig struct {
	URL            string
	CredsFile      string
	Stream         string
	Replicas       int
	MaxAge         time.Duration
	ConnectTimeout time.Duration
}

// AuthConfig configures customer API tokens and their signing keys.
type AuthConfig struct {
	Issuer          string
	Audience        string
	TokenTTL        time.Duration
	Leeway          time.Duration
	JWKSRotateEvery time.Duration
	JWKSPrePublish  time.Duration
	JWKSPublishFor  time.Duration
	APITokenPepper  string
}

// RotationConfig configures the HMACKeyRotationController.
type RotationConfig struct {
	HMACInterval time.Duration
	HMACOverlap  time.Duration
	HMACResync   time.Duration
	KeyCacheTTL  time.Duration
}

// ZenLockConfig configures the custody client.
type ZenLockConfig struct {
	URL      string
	CAFile   string
	CertFile string
	KeyFile  string
	Timeout  time.Duration
}

// TelemetryConfig configures logs and metrics.
type TelemetryConfig struct {
	LogLevel         string
	LogFormat        string
	MetricsNamespace string
	SlowRequest      time.Duration
}

// RateLimitConfig configures the per-tenant customer API limits.
type RateLimitConfig struct {
	Enabled                 bool
	RequestsPerMinute       int
	TokenExchangesPerMinute int
}

// JobsConfig configures the background jobs run by the leader replica.
type JobsConfig struct {
	StaleAgentAfter time.Duration
	StaleSweepEvery time.Duration
	AuditRetention  time.Duration
	AuditSweepEvery time.Duration
	OutboxPollEvery time.Duration
	OutboxBatch     int
	UsageFlushEvery time.Duration
}

// WebhookConfig configures outbound webhook delivery.
type WebhookConfig struct {
	Workers     int
	Timeout     time.Duration
	MaxAttempts int
	AllowHTTP   bool // development only
}

// FeatureConfig configures feature flags.
type FeatureConfig struct {
	RefreshEvery time.Duration
	Overrides    map[string]bool
}

// ShutdownConfig configures graceful shutdown.
type ShutdownConfig struct {
	// DrainDelay is how long /readyz fails before the listeners close, so
	// that the load balancer stops sending new requests first.
	DrainDelay time.Duration
	Grace      time.Duration
}

func defaultConfig() *Config {
	return &Config{
		Env: "production",
		HTTP: HTTPConfig{
			Addr:              backcmd.DefaultPublicAddr,
			ReadTimeout:       15 * time.Second,
			ReadHeaderTimeout: 5 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    32 << 10,
			MaxBodyBytes:      1 << 20,
		},
		MTLS: MTLSConfig{
			Required:     true,
			Addr:         backcmd.DefaultMTLSAddr,
			ClientCAFile: "/etc/zen-mesh/agent-ca/ca.crt",
			CertFile:     "/etc/zen-mesh/mtls/tls.crt",
			KeyFile:      "/etc/zen-mesh/mtls/tls.key",
			TrustDomain:  identity.TrustDomain,
			HMACMaxSkew:  5 * time.Minute,
			HMACMaxBody:  8 << 20,
		},
		Ops: OpsConfig{Addr: ":9090"},
		Database: DatabaseConfig{
			MaxOpenConns:     40,
			MaxIdleConns:     10,
			ConnMaxLifetime:  30 * time.Minute,
			ConnMaxIdleTime:  5 * time.Minute,
			ConnectTimeout:   5 * time.Second,
			ConnectAttempts:  8,
			StatementTimeout: 10 * time.Second,
		},
		Redis: RedisConfig{
			Addr:         "redis:6379",
			PoolSize:     50,
			MinIdleConns: 5,
			DialTimeout:  3 * time.Second,
			ReadTimeout:  time.Second,
			WriteTimeout: time.Second,
			KeyPrefix:    "zen:",
		},
		NATS: NATSConfig{
			URL:            "nats://nats:4222",
			Stream:         "ZEN_EVENTS",
			Replicas:       3,
			MaxAge:         7 * 24 * time.Hour,
			ConnectTimeout: 5 * time.Second,
		},
		Auth: AuthConfig{
			Issuer:          "https://api.zen-mesh.io",
			Audience:        "zen-mesh-customer-api",
			TokenTTL:        time.Hour,
			Leeway:          30 * time.Second,
			JWKSRotateEvery: 30 * 24 * time.Hour,
			JWKSPrePublish:  10 * time.Minute,
			JWKSPublishFor:  48 * time.Hour,
		},
		Rotation: RotationConfig{
			HMACInterval: 24 * time.Hour,
			HMACOverlap:  2 * time.Hour,
			HMACResync:   time.Minute,
			KeyCacheTTL:  30 * time.Second,
		},
		ZenLock: ZenLockConfig{
			URL:      "https://zenlock.zen-system.svc:8443",
			CAFile:   "/etc/zen-mesh/zenlock/ca.crt",
			CertFile: "/etc/zen-mesh/zenlock/tls.crt",
			KeyFile:  "/etc/zen-mesh/zenlock/tls.key",
			Timeout:  10 * time.Second,
		},
		Telemetry: TelemetryConfig{
			LogLevel:         "info",
			LogFormat:        "json",
			MetricsNamespace: "zen",
			SlowRequest:      2 * time.Second,
		},
		RateLimit: RateLimitConfig{
			Enabled:                 true,
			RequestsPerMinute:       600,
			TokenExchangesPerMinute: 30,
		},
		Jobs: JobsConfig{
			StaleAgentAfter: 3 * time.Minute,
			StaleSweepEvery: 30 * time.Second,
			AuditRetention:  400 * 24 * time.Hour,
			AuditSweepEvery: time.Hour,
			OutboxPollEvery: time.Second,
			OutboxBatch:     200,
			UsageFlushEvery: time.Minute,
		},
		Webhooks: WebhookConfig{
			Workers:     8,
			Timeout:     10 * time.Second,
			MaxAttempts: 12,
		},
		Features: FeatureConfig{
			RefreshEvery: 30 * time.Second,
			Overrides:    map[string]bool{},
		},
		Shutdown: ShutdownConfig{
			DrainDelay: 10 * time.Second,
			Grace:      25 * time.Second,
		},
	}
}

// binder registers flags that can also be set from the environment. After
// parsing, every flag that was not given on the command line takes the value
// of its environment variable, through the flag's own parser.
type binder struct {
	fs   *flag.FlagSet
	envs map[string]string // flag name -> environment variable
}

func newBinder(fs *flag.FlagSet) *binder {
	return &binder{fs: fs, envs: make(map[string]string)}
}

func (b *binder) usage(usage, env string) string {
	return usage + " ($" + env + ")"
}

func (b *binder) String(p *string, name, env, usage string) {
	b.fs.StringVar(p, name, *p, b.usage(usage, env))
	b.envs[name] = env
}

func (b *binder) Int(p *int, name, env, usage string) {
	b.fs.IntVar(p, name, *p, b.usage(usage, env))
	b.envs[name] = env
}

func (b *binder) Int64(p *int64, name, env, usage string) {
	b.fs.Int64Var(p, name, *p, b.usage(usage, env))
	b.envs[name] = env
}

func (b *binder) Bool(p *bool, name, env, usage string) {
	b.fs.BoolVar(p, name, *p, b.usage(usage, env))
	b.envs[name] = env
}

func (b *binder) Duration(p *time.Duration, name, env, usage string) {
	b.fs.DurationVar(p, name, *p, b.usage(usage, env))
	b.envs[name] = env
}

func (b *binder) List(p *[]string, name, env, usage string) {
	b.fs.Var((*stringList)(p), name, b.usage(usage+" (comma-separated)", env))
	b.envs[name] = env
}

func (b *binder) Toggles(p *map[string]bool, name, env, usage string) {
	b.fs.Var((*toggleMap)(p), name, b.usage(usage+" (name=true,name=false)", env))
	b.envs[name] = env
}

// applyEnv copies environment values into the flags not set on the command
// line, in a stable order so that errors are reported deterministically.
func (b *binder) applyEnv(lookup func(string) (string, bool)) error {
	explicit := make(map[string]bool)
	b.fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })

	names := make([]string, 0, len(b.envs))
	for name := range b.envs {
		names = append(names, name)
	}
	sort.Strings(names)

	var errs []error
	for _, name := range names {
		if explicit[name] {
			continue
		}
		env := b.envs[name]
		v, ok := lookup(env)
		if !ok {
			continue
		}
		if err := b.fs.Set(name, v); err != nil {
			errs = append(errs, fmt.Errorf("$%s: %w", env, err))
		}
	}
	return errors.Join(errs...)
}

// stringList is a comma-separated flag value. Setting it replaces the list.
type stringList []string

func (l *stringList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *stringList) Set(v string) error {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	*l = out
	return nil
}

// toggleMap parses "name=true,other=false" into a map.
type toggleMap map[string]bool

func (m *toggleMap) String() string {
	if m == nil || *m == nil {
		return ""
	}
	keys := make([]string, 0, len(*m))
	for k := range *m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.FormatBool((*m)[k])
	}
	return strings.Join(parts, ",")
}

func (m *toggleMap) Set(v string) error {
	out := make(map[string]bool)
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("%q: want name=true or name=false", item)
		}
		on, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("%q: %w", item, err)
		}
		out[strings.TrimSpace(name)] = on
	}
	*m = out
	return nil
}

// loadConfig builds the configuration from defaults, then the environment,
// then args. It does not validate; see validateConfig.
func loadConfig(args []string, lookup func(string) (string, bool)) (*Config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet(serviceName, flag.ContinueOnError)
	b := newBinder(fs)

	b.String(&cfg.Env, "env", "ZEN_ENV", "deployment environment: production, staging or development")
	b.String(&cfg.InstanceID, "instance-id", "ZEN_INSTANCE_ID", "instance name in logs and events (default: hostname)")

	b.String(&cfg.HTTP.Addr, "http-addr", "ZEN_HTTP_ADDR", "public listener address")
	b.Duration(&cfg.HTTP.ReadTimeout, "http-read-timeout", "ZEN_HTTP_READ_TIMEOUT", "public listener read timeout")
	b.Duration(&cfg.HTTP.ReadHeaderTimeout, "http-read-header-timeout", "ZEN_HTTP_READ_HEADER_TIMEOUT", "public listener header timeout")
	b.Duration(&cfg.HTTP.WriteTimeout, "http-write-timeout", "ZEN_HTTP_WRITE_TIMEOUT", "public listener write timeout")
	b.Duration(&cfg.HTTP.IdleTimeout, "http-idle-timeout", "ZEN_HTTP_IDLE_TIMEOUT", "public listener keep-alive timeout")
	b.Int(&cfg.HTTP.MaxHeaderBytes, "http-max-header-bytes", "ZEN_HTTP_MAX_HEADER_BYTES", "largest request header accepted")
	b.Int64(&cfg.HTTP.MaxBodyBytes, "http-max-body-bytes", "ZEN_HTTP_MAX_BODY_BYTES", "largest customer API request body")
	b.List(&cfg.HTTP.TrustedProxies, "http-trusted-proxies", "ZEN_HTTP_TRUSTED_PROXIES", "CIDRs of proxies whose X-Forwarded-For is trusted")
	b.List(&cfg.HTTP.CORSOrigins, "http-cors-origins", "ZEN_HTTP_CORS_ORIGINS", "origins allowed to call the customer API from a browser")

	b.Bool(&cfg.MTLS.Required, "mtls-required", "ZEN_MTLS_REQUIRED", "agent API requires mTLS; false is refused at startup")
	b.String(&cfg.MTLS.Addr, "mtls-addr", "ZEN_MTLS_ADDR", "agent (mTLS) listener address")
	b.String(&cfg.MTLS.ClientCAFile, "mtls-client-ca-file", "ZEN_MTLS_CLIENT_CA_FILE", "CA bundle that issues agent SVIDs")
	b.String(&cfg.MTLS.CertFile, "mtls-cert-file", "ZEN_MTLS_CERT_FILE", "agent listener certificate (cert-manager Secret)")
	b.String(&cfg.MTLS.KeyFile, "mtls-key-file", "ZEN_MTLS_KEY_FILE", "agent listener private key (cert-manager Secret)")
	b.String(&cfg.MTLS.TrustDomain, "mtls-trust-domain", "ZEN_MTLS_TRUST_DOMAIN", "SPIFFE trust domain of agent identities")
	b.Duration(&cfg.MTLS.HMACMaxSkew, "hmac-max-skew", "ZEN_HMAC_MAX_SKEW", "largest accepted clock skew of a signed agent request")
	b.Int64(&cfg.MTLS.HMACMaxBody, "hmac-max-body", "ZEN_HMAC_MAX_BODY", "largest signed agent request body")

	b.String(&cfg.Ops.Addr, "ops-addr", "ZEN_OPS_ADDR", "operations listener address (metrics, pprof)")
	b.Bool(&cfg.Ops.EnablePprof, "ops-pprof", "ZEN_OPS_PPROF", "serve /debug/pprof on the operations listener")

	b.String(&cfg.Database.DSN, "database-dsn", "ZEN_DATABASE_DSN", "PostgreSQL connection string")
	b.Int(&cfg.Database.MaxOpenConns, "database-max-open", "ZEN_DATABASE_MAX_OPEN", "largest number of open connections")
	b.Int(&cfg.Database.MaxIdleConns, "database-max-idle", "ZEN_DATABASE_MAX_IDLE", "largest number of idle connections")
	b.Duration(&cfg.Database.ConnMaxLifetime, "database-conn-max-lifetime", "ZEN_DATABASE_CONN_MAX_LIFETIME", "recycle connections after this long")
	b.Duration(&cfg.Database.ConnMaxIdleTime, "database-conn-max-idle-time", "ZEN_DATABASE_CONN_MAX_IDLE_TIME", "close connections idle this long")
	b.Duration(&cfg.Database.ConnectTimeout, "database-connect-timeout", "ZEN_DATABASE_CONNECT_TIMEOUT", "timeout of one connection attempt at startup")
	b.Int(&cfg.Database.ConnectAttempts, "database-connect-attempts", "ZEN_DATABASE_CONNECT_ATTEMPTS", "connection attempts at startup")
	b.Duration(&cfg.Database.StatementTimeout, "database-statement-timeout", "ZEN_DATABASE_STATEMENT_TIMEOUT", "timeout of one query")
	b.Bool(&cfg.Database.MigrateOnStart, "database-migrate", "ZEN_DATABASE_MIGRATE", "apply pending schema migrations at startup")

	b.String(&cfg.Redis.Addr, "redis-addr", "ZEN_REDIS_ADDR", "Redis address")
	b.String(&cfg.Redis.Username, "redis-username", "ZEN_REDIS_USERNAME", "Redis ACL user")
	b.String(&cfg.Redis.Password, "redis-password", "ZEN_REDIS_PASSWORD", "Redis password")
	b.Int(&cfg.Redis.DB, "redis-db", "ZEN_REDIS_DB", "Redis database number")
	b.Bool(&cfg.Redis.TLS, "redis-tls", "ZEN_REDIS_TLS", "connect to Redis over TLS")
	b.Int(&cfg.Redis.PoolSize, "redis-pool-size", "ZEN_REDIS_POOL_SIZE", "Redis connection pool size")
	b.String(&cfg.Redis.KeyPrefix, "redis-key-prefix", "ZEN_REDIS_KEY_PREFIX", "prefix of every Redis key")

	b.String(&cfg.NATS.URL, "nats-url", "ZEN_NATS_URL", "NATS server URL")
	b.String(&cfg.NATS.CredsFile, "nats-creds-file", "ZEN_NATS_CREDS_FILE", "NATS user credentials file")
	b.String(&cfg.NATS.Stream, "nats-stream", "ZEN_NATS_STREAM", "JetStream stream for domain events")
	b.Int(&cfg.NATS.Replicas, "nats-replicas", "ZEN_NATS_REPLICAS", "replicas of the event stream")
	b.Duration(&cfg.NATS.MaxAge, "nats-max-age", "ZEN_NATS_MAX_AGE", "how long events are kept")

	b.String(&cfg.Auth.Issuer, "auth-issuer", "ZEN_AUTH_ISSUER", "iss of customer API tokens")
	b.String(&cfg.Auth.Audience, "auth-audience", "ZEN_AUTH_AUDIENCE", "aud of customer API tokens")
	b.Duration(&cfg.Auth.TokenTTL, "auth-token-ttl", "ZEN_AUTH_TOKEN_TTL", "lifetime of customer API tokens")
	b.Duration(&cfg.Auth.Leeway, "auth-leeway", "ZEN_AUTH_LEEWAY", "clock leeway when checking token times")
	b.Duration(&cfg.Auth.JWKSRotateEvery, "jwks-rotate-every", "ZEN_JWKS_ROTATE_EVERY", "signing key rotation period")
	b.Duration(&cfg.Auth.JWKSPrePublish, "jwks-pre-publish", "ZEN_JWKS_PRE_PUBLISH", "how long a new signing key is published before it signs")
	b.Duration(&cfg.Auth.JWKSPublishFor, "jwks-publish-for", "ZEN_JWKS_PUBLISH_FOR", "how long a superseded signing key stays in the JWK Set")
	b.String(&cfg.Auth.APITokenPepper, "api-token-pepper", "ZEN_API_TOKEN_PEPPER", "secret mixed into stored API token hashes")

	b.Duration(&cfg.Rotation.HMACInterval, "hmac-rotate-every", "ZEN_HMAC_ROTATE_EVERY", "agent HMAC key rotation period")
	b.Duration(&cfg.Rotation.HMACOverlap, "hmac-overlap", "ZEN_HMAC_OVERLAP", "how long the previous agent HMAC key is still accepted")
	b.Duration(&cfg.Rotation.HMACResync, "hmac-resync", "ZEN_HMAC_RESYNC", "how often every agent's key state is reconciled")
	b.Duration(&cfg.Rotation.KeyCacheTTL, "hmac-key-cache-ttl", "ZEN_HMAC_KEY_CACHE_TTL", "how long a fetched HMAC key is cached in memory")

	b.String(&cfg.ZenLock.URL, "zenlock-url", "ZEN_ZENLOCK_URL", "ZenLock custody API")
	b.String(&cfg.ZenLock.CAFile, "zenlock-ca-file", "ZEN_ZENLOCK_CA_FILE", "CA of the ZenLock server certificate")
	b.String(&cfg.ZenLock.CertFile, "zenlock-cert-file", "ZEN_ZENLOCK_CERT_FILE", "client certificate presented to ZenLock")
	b.String(&cfg.ZenLock.KeyFile, "zenlock-key-file", "ZEN_ZENLOCK_KEY_FILE", "client key presented to ZenLock")
	b.Duration(&cfg.ZenLock.Timeout, "zenlock-timeout", "ZEN_ZENLOCK_TIMEOUT", "timeout of one ZenLock call")

	b.String(&cfg.Telemetry.LogLevel, "log-level", "ZEN_LOG_LEVEL", "debug, info, warn or error")
	b.String(&cfg.Telemetry.LogFormat, "log-format", "ZEN_LOG_FORMAT", "json or text")
	b.String(&cfg.Telemetry.MetricsNamespace, "metrics-namespace", "ZEN_METRICS_NAMESPACE", "Prometheus namespace of every metric")
	b.Duration(&cfg.Telemetry.SlowRequest, "slow-request", "ZEN_SLOW_REQUEST", "log requests slower than this at warn level")

	b.Bool(&cfg.RateLimit.Enabled, "rate-limit", "ZEN_RATE_LIMIT", "enforce per-tenant request limits")
	b.Int(&cfg.RateLimit.RequestsPerMinute, "rate-limit-rpm", "ZEN_RATE_LIMIT_RPM", "customer API requests per tenant per minute")
	b.Int(&cfg.RateLimit.TokenExchangesPerMinute, "rate-limit-token-rpm", "ZEN_RATE_LIMIT_TOKEN_RPM", "token exchanges per API token per minute")

	b.Duration(&cfg.Jobs.StaleAgentAfter, "stale-agent-after", "ZEN_STALE_AGENT_AFTER", "mark agents stale after this long without a heartbeat")
	b.Duration(&cfg.Jobs.StaleSweepEvery, "stale-sweep-every", "ZEN_STALE_SWEEP_EVERY", "stale agent sweep period")
	b.Duration(&cfg.Jobs.AuditRetention, "audit-retention", "ZEN_AUDIT_RETENTION", "how long audit entries are kept")
	b.Duration(&cfg.Jobs.AuditSweepEvery, "audit-sweep-every", "ZEN_AUDIT_SWEEP_EVERY", "audit retention sweep period")
	b.Duration(&cfg.Jobs.OutboxPollEvery, "outbox-poll-every", "ZEN_OUTBOX_POLL_EVERY", "outbox relay poll period")
	b.Int(&cfg.Jobs.OutboxBatch, "outbox-batch", "ZEN_OUTBOX_BATCH", "events relayed per outbox poll")
	b.Duration(&cfg.Jobs.UsageFlushEvery, "usage-flush-every", "ZEN_USAGE_FLUSH_EVERY", "usage counter flush period")

	b.Int(&cfg.Webhooks.Workers, "webhook-workers", "ZEN_WEBHOOK_WORKERS", "concurrent webhook deliveries")
	b.Duration(&cfg.Webhooks.Timeout, "webhook-timeout", "ZEN_WEBHOOK_TIMEOUT", "timeout of one webhook delivery")
	b.Int(&cfg.Webhooks.MaxAttempts, "webhook-max-attempts", "ZEN_WEBHOOK_MAX_ATTEMPTS", "delivery attempts before a webhook event is dropped")
	b.Bool(&cfg.Webhooks.AllowHTTP, "webhook-allow-http", "ZEN_WEBHOOK_ALLOW_HTTP", "allow plain http webhook URLs (development only)")

	b.Duration(&cfg.Features.RefreshEvery, "features-refresh-every", "ZEN_FEATURES_REFRESH_EVERY", "feature flag reload period")
	b.Toggles(&cfg.Features.Overrides, "feature", "ZEN_FEATURES", "feature flags forced on or off for this instance")

	b.Duration(&cfg.Shutdown.DrainDelay, "shutdown-drain-delay", "ZEN_SHUTDOWN_DRAIN_DELAY", "time between failing readiness and closing listeners")
	b.Duration(&cfg.Shutdown.Grace, "shutdown-grace", "ZEN_SHUTDOWN_GRACE", "time given to in-flight requests at shutdown")

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if err := b.applyEnv(lookup); err != nil {
		return nil, err
	}
	if err := resolveFileSecrets(cfg, lookup); err != nil {
		return nil, err
	}
	if cfg.InstanceID == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("instance id: %w", err)
		}
		cfg.InstanceID = host
	}
	return cfg, nil
}

// resolveFileSecrets reads secrets given as files (Kubernetes Secret volumes)
// through the _FILE variant of their variable. Setting both is an error: it
// is never clear which one the operator meant.
func resolveFileSecrets(cfg *Config, lookup func(string) (string, bool)) error {
	secrets := []struct {
		env string
		dst *string
	}{
		{"ZEN_DATABASE_DSN", &cfg.Database.DSN},
		{"ZEN_REDIS_PASSWORD", &cfg.Redis.Password},
		{"ZEN_API_TOKEN_PEPPER", &cfg.Auth.APITokenPepper},
	}
	var errs []error
	for _, s := range secrets {
		path, ok := lookup(s.env + "_FILE")
		if !ok || path == "" {
			continue
		}
		if _, direct := lookup(s.env); direct {
			errs = append(errs, fmt.Errorf("both $%s and $%s_FILE are set", s.env, s.env))
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("$%s_FILE: %w", s.env, err))
			continue
		}
		*s.dst = strings.TrimRight(string(raw), "\r\n")
	}
	return errors.Join(errs...)
}

// validateConfig reports every problem at once, so that an operator fixing a
// manifest does not have to restart the pod once per mistake.
func validateConfig(cfg *Config) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}

	switch cfg.Env {
	case "production", "staging", "development":
	default:
		bad("env %q: want production, staging or development", cfg.Env)
	}
	if cfg.Database.DSN == "" {
		bad("database DSN is required (ZEN_DATABASE_DSN or ZEN_DATABASE_DSN_FILE)")
	}
	if cfg.Database.MaxIdleConns > cfg.Database.MaxOpenConns {
		bad("database: max idle (%d) exceeds max open (%d)", cfg.Database.MaxIdleConns, cfg.Database.MaxOpenConns)
	}
	if cfg.Database.ConnectAttempts < 1 {
		bad("database: connect attempts must be at least 1")
	}
	if cfg.Redis.Addr == "" {
		bad("redis address is required")
	}
	if _, err := url.Parse(cfg.NATS.URL); err != nil || (!strings.HasPrefix(cfg.NATS.URL, "nats://") && !strings.HasPrefix(cfg.NATS.URL, "tls://")) {
		bad("nats url %q: want nats:// or tls://", cfg.NATS.URL)
	}
	if cfg.NATS.Replicas < 1 || cfg.NATS.Replicas > 5 {
		bad("nats replicas %d: want 1 to 5", cfg.NATS.Replicas)
	}

	if cfg.Auth.TokenTTL <= 0 || cfg.Auth.TokenTTL > 12*time.Hour {
		bad("auth token ttl %s: want at most 12h", cfg.Auth.TokenTTL)
	}
	// A superseded signing key must stay published for longer than the
	// tokens it signed can live, or those tokens stop verifying early.
	if cfg.Auth.JWKSPublishFor <= cfg.Auth.TokenTTL+cfg.Auth.Leeway {
		bad("jwks publish window %s must exceed token ttl plus leeway (%s)", cfg.Auth.JWKSPublishFor, cfg.Auth.TokenTTL+cfg.Auth.Leeway)
	}
	// Verifiers cache the JWK Set for five minutes and replicas sync every
	// thirty seconds; a key that signs before they all know it is rejected.
	if cfg.Auth.JWKSPrePublish < 6*time.Minute {
		bad("jwks pre-publication %s is shorter than the JWK Set cache lifetime", cfg.Auth.JWKSPrePublish)
	}
	if cfg.Env == "production" && len(cfg.Auth.APITokenPepper) < 32 {
		bad("api token pepper must be at least 32 bytes in production")
	}

	if cfg.Rotation.HMACOverlap <= 0 || cfg.Rotation.HMACOverlap >= cfg.Rotation.HMACInterval {
		bad("hmac overlap %s must be positive and shorter than the rotation period %s", cfg.Rotation.HMACOverlap, cfg.Rotation.HMACInterval)
	}
	if cfg.Rotation.KeyCacheTTL > cfg.Rotation.HMACOverlap/4 {
		bad("hmac key cache ttl %s is too long for an overlap of %s", cfg.Rotation.KeyCacheTTL, cfg.Rotation.HMACOverlap)
	}

	if u, err := url.Parse(cfg.ZenLock.URL); err != nil || u.Scheme != "https" {
		bad("zenlock url %q: https is required", cfg.ZenLock.URL)
	}
	if cfg.Jobs.StaleAgentAfter < 2*cfg.Jobs.StaleSweepEvery {
		bad("stale agent threshold %s must be at least twice the sweep period %s", cfg.Jobs.StaleAgentAfter, cfg.Jobs.StaleSweepEvery)
	}
	if cfg.Jobs.OutboxBatch < 1 || cfg.Jobs.OutboxBatch > 5000 {
		bad("outbox batch %d: want 1 to 5000", cfg.Jobs.OutboxBatch)
	}
	if cfg.Webhooks.AllowHTTP && cfg.Env == "production" {
		bad("webhook-allow-http is not allowed in production")
	}
	if cfg.Shutdown.Grace < cfg.HTTP.WriteTimeout {
		bad("shutdown grace %s is shorter than the write timeout %s", cfg.Shutdown.Grace, cfg.HTTP.WriteTimeout)
	}
	for _, cidr := range cfg.HTTP.TrustedProxies {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			bad("trusted proxy %q: %v", cidr, err)
		}
	}
	for _, origin := range cfg.HTTP.CORSOrigins {
		if u, err := url.Parse(origin); err != nil || u.Scheme != "https" || u.Path != "" {
			bad("cors origin %q: want https://host[:port]", origin)
		}
	}
	for name := range cfg.Features.Overrides {
		if !knownFeature(name) {
			bad("feature override %q: unknown feature", name)
		}
	}
	return errors.Join(errs...)
}

// validateMTLSConfig checks the agent listener settings. run calls it right
// before the listener is built, separately from validateConfig, so that the
// check stays next to the code it protects.
func validateMTLSConfig(m MTLSConfig) error {
	var errs []error
	if _, _, err := net.SplitHostPort(m.Addr); err != nil {
		errs = append(errs, fmt.Errorf("mtls addr %q: %w", m.Addr, err))
	}
	files := []struct{ what, path string }{
		{"client CA", m.ClientCAFile},
		{"certificate", m.CertFile},
		{"key", m.KeyFile},
	}
	for _, f := range files {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("mtls %s file is not set", f.what))
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("mtls %s: %w", f.what, err))
		}
	}
	if m.TrustDomain != identity.TrustDomain {
		errs = append(errs, fmt.Errorf("mtls trust domain %q: agents are issued SVIDs in %q", m.TrustDomain, identity.TrustDomain))
	}
	if m.HMACMaxSkew <= 0 || m.HMACMaxSkew > 15*time.Minute {
		errs = append(errs, fmt.Errorf("hmac max skew %s: want (0, 15m]", m.HMACMaxSkew))
	}
	return errors.Join(errs...)
}

// redactDSN removes the password from a PostgreSQL URL for logging. Key/value
// DSNs are not parsed; they are replaced wholesale.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "[redacted]"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.Redacted()
}

// logConfig writes the effective configuration, without secrets.
func logConfig(logger *slog.Logger, cfg *Config) {
	logger.Info("configuration",
		"env", cfg.Env,
		"instance", cfg.InstanceID,
		"http_addr", cfg.HTTP.Addr,
		"mtls_addr", cfg.MTLS.Addr,
		"mtls_required", cfg.MTLS.Required,
		"trust_domain", cfg.MTLS.TrustDomain,
		"database", redactDSN(cfg.Database.DSN),
		"redis", cfg.Redis.Addr,
		"nats", cfg.NATS.URL,
		"zenlock", cfg.ZenLock.URL,
		"ops_pprof", cfg.Ops.EnablePprof,
		"rate_limits", cfg.RateLimit.Enabled,
		"hmac_rotate_every", cfg.Rotation.HMACInterval,
		"hmac_overlap", cfg.Rotation.HMACOverlap,
		"jwks_rotate_every", cfg.Auth.JWKSRotateEvery,
		"feature_overrides", (*toggleMap)(&cfg.Features.Overrides).String(),
	)
}

// sensitiveLogKeys are attribute keys whose values never reach the logs.
var sensitiveLogKeys = map[string]bool{
	"authorization": true,
	"password":      true,
	"secret":        true,
	"token":         true,
	"api_key":       true,
	"cookie":        true,
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{
		Level: lvl,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if sensitiveLogKeys[strings.ToLower(a.Key)] {
				return slog.String(a.Key, "[redacted]")
			}
			return a
		},
	}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	return slog.New(h).With("service", serviceName, "version", buildVersion()), nil
}

// metrics holds every Prometheus collector of the back end. It is created
// once in run and passed to whatever records something.
type metrics struct {
	registry *prometheus.Registry

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	httpInFlight  prometheus.Gauge
	agentRequests *prometheus.CounterVec
	agentDuration *prometheus.HistogramVec
	hmacRejects   *prometheus.CounterVec
	rateLimited   *prometheus.CounterVec
	heartbeats    prometheus.Counter
	adapterDrift  prometheus.Counter
	staleAgents   prometheus.Gauge
	webhookSent   *prometheus.CounterVec
	webhookTime   prometheus.Histogram
	outboxPending prometheus.Gauge
	jobRuns       *prometheus.CounterVec
	jobDuration   *prometheus.HistogramVec
	keyCache      *prometheus.CounterVec
}

func newMetrics(namespace string) *metrics {
	reg := prometheus.NewRegistry()
	latency := prometheus.ExponentialBuckets(0.005, 2, 12) // 5ms .. ~10s

	m := &metrics{
		registry: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "Customer API and public requests by route and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help: "Customer API and public request latency.", Buckets: latency,
		}, []string{"route"}),
		httpInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "http", Name: "in_flight_requests",
			Help: "Requests being served on the public listener.",
		}),
		agentRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "agent_api", Name: "requests_total",
			Help: "Agent API (mTLS) requests by route and status code.",
		}, []string{"route", "code"}),
		agentDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "agent_api", Name: "request_duration_seconds",
			Help: "Agent API (mTLS) request latency.", Buckets: latency,
		}, []string{"route"}),
		hmacRejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "agent_api", Name: "hmac_rejections_total",
			Help: "Agent requests rejected by the HMAC middleware, by reason.",
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "rate_limited_total",
			Help: "Requests refused by a rate limit, by limit.",
		}, []string{"limit"}),
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "agents", Name: "heartbeats_total",
			Help: "Agent heartbeats accepted.",
		}),
		adapterDrift: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "agents", Name: "adapter_drift_total",
			Help: "Adapter syncs whose observed inventory differed from the desired one.",
		}),
		staleAgents: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "agents", Name: "stale",
			Help: "Agents marked stale by the last sweep.",
		}),
		webhookSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "webhooks", Name: "deliveries_total",
			Help: "Webhook delivery attempts by outcome.",
		}, []string{"outcome"}),
		webhookTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "webhooks", Name: "delivery_duration_seconds",
			Help: "Webhook delivery latency.", Buckets: latency,
		}),
		outboxPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "outbox", Name: "pending",
			Help: "Events waiting in the outbox after the last relay pass.",
		}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "jobs", Name: "runs_total",
			Help: "Background job runs by job and result.",
		}, []string{"job", "result"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "jobs", Name: "duration_seconds",
			Help: "Background job run time.", Buckets: latency,
		}, []string{"job"}),
		keyCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "agent_api", Name: "hmac_key_cache_total",
			Help: "HMAC key lookups by cache result.",
		}, []string{"result"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		m.httpRequests, m.httpDuration, m.httpInFlight,
		m.agentRequests, m.agentDuration, m.hmacRejects, m.rateLimited,
		m.heartbeats, m.adapterDrift, m.staleAgents,
		m.webhookSent, m.webhookTime, m.outboxPending,
		m.jobRuns, m.jobDuration, m.keyCache,
	)
	return m
}

// registerDBStats exports the connection pool statistics of db.
func (m *metrics) registerDBStats(namespace string, db *sql.DB) {
	gauge := func(name, help string, f func(sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "db", Name: name, Help: help,
		}, func() float64 { return f(db.Stats()) })
	}
	counter := func(name, help string, f func(sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "db", Name: name, Help: help,
		}, func() float64 { return f(db.Stats()) })
	}
	m.registry.MustRegister(
		gauge("open_connections", "Open connections.", func(s sql.DBStats) float64 { return float64(s.OpenConnections) }),
		gauge("in_use_connections", "Connections in use.", func(s sql.DBStats) float64 { return float64(s.InUse) }),
		gauge("idle_connections", "Idle connections.", func(s sql.DBStats) float64 { return float64(s.Idle) }),
		counter("wait_count_total", "Connections waited for.", func(s sql.DBStats) float64 { return float64(s.WaitCount) }),
		counter("wait_seconds_total", "Time spent waiting for a connection.", func(s sql.DBStats) float64 { return s.WaitDuration.Seconds() }),
	)
}

// Observe implements backcmd.RouteMetrics for the agent routes.
func (m *metrics) Observe(route string, code int, elapsed time.Duration) {
	m.agentRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.agentDuration.WithLabelValues(route).Observe(elapsed.Seconds())
}

// observeJob records one background job run.
func (m *metrics) observeJob(job string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.jobRuns.WithLabelValues(job, result).Inc()
	m.jobDuration.WithLabelValues(job).Observe(time.Since(start).Seconds())
}

// statusWriter remembers the status code and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrumentRoute wraps a public route with request metrics. The route label
// is the registration pattern, never the raw path, to keep cardinality flat.
func (m *metrics) instrumentRoute(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.httpInFlight.Inc()
		defer m.httpInFlight.Dec()
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		m.httpRequests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		m.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// opsMux serves the operations listener: metrics, liveness, and pprof when
// enabled. It is never exposed outside the cluster.
func opsMux(m *metrics, enablePprof bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		Registry:          m.registry,
		EnableOpenMetrics: true,
	}))
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	if enablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// retry calls fn until it succeeds, ctx ends, or attempts run out, waiting an
// exponentially growing, jittered delay between attempts.
func retry(ctx context.Context, attempts int, base time.Duration, fn func(context.Context) error) error {
	var err error
	for i := 0; i < attempts; i++ {
		if err = fn(ctx); err == nil {
			return nil
		}
		if i == attempts-1 {
			break
		}
		delay := base << i
		if delay > 30*time.Second {
			delay = 30 * time.Second
		}
		delay = delay/2 + mathrand.N(delay/2+1)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(delay):
		}
	}
	return fmt.Errorf("after %d attempts: %w", attempts, err)
}

// openDatabase opens the pool and waits for PostgreSQL to answer. The pod is
// often scheduled before the database proxy sidecar is ready, hence the retry.
func openDatabase(ctx context.Context, cfg DatabaseConfig, logger *slog.Logger) (*sql.DB, error) {
	db, err := sql.Open("pgx", cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxIdleConns)
	db.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	db.SetConnMaxIdleTime(cfg.ConnMaxIdleTime)

	err = retry(ctx, cfg.ConnectAttempts, 500*time.Millisecond, func(ctx context.Context) error {
		pingCtx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
		defer cancel()
		if err := db.PingContext(pingCtx); err != nil {
			logger.Warn("database not reachable yet", "err", err)
			return err
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err)
	}

	var serverVersion string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&serverVersion); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	logger.Info("database connected", "server_version", serverVersion, "dsn", redactDSN(cfg.DSN))
	return db, nil
}

// migration is one forward-only schema change. Applied migrations are never
// edited; a fix is a new migration.
type migration struct {
	version int
	name    string
	sql     string
}

var migrations = []migration{
	{1, "tenants and clusters", `
CREATE TABLE tenants (
    id          text PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    plan        text NOT NULL DEFAULT 'team',
    suspended   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE clusters (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        text NOT NULL,
    region      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    UNIQUE (tenant_id, name)
);`},
	{2, "agents", `
CREATE TABLE agents (
    id             text PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    cluster_id     text NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    spiffe_id      text NOT NULL UNIQUE,
    version        text NOT NULL DEFAULT '',
    adapters       jsonb NOT NULL DEFAULT '{}',
    last_seen_at   timestamptz,
    stale          boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_last_seen ON agents (last_seen_at) WHERE NOT stale;`},
	{3, "adapters", `
CREATE TABLE desired_adapters (
    cluster_id  text NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    name        text NOT NULL,
    kind        text NOT NULL,
    version     text NOT NULL,
    config      jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cluster_id, name)
);
CREATE TABLE cluster_revisions (
    cluster_id  text PRIMARY KEY REFERENCES clusters(id) ON DELETE CASCADE,
    revision    bigint NOT NULL DEFAULT 0
);
CREATE TABLE observed_adapters (
    cluster_id  text NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    name        text NOT NULL,
    kind        text NOT NULL,
    version     text NOT NULL,
    endpoints   text[] NOT NULL DEFAULT '{}',
    revision    bigint NOT NULL,
    observed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cluster_id, name)
);`},
	{4, "allowlist", `
CREATE TABLE allowlist_entries (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    pattern     text NOT NULL,
    comment     text NOT NULL DEFAULT '',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, pattern)
);`},
	{5, "audit log", `
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT '',
    remote_ip   inet,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_id ON audit_log (tenant_id, id DESC);
CREATE INDEX audit_log_at ON audit_log (at);`},
	{6, "api tokens", `
CREATE TABLE api_tokens (
    id           text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         text NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);`},
	{7, "webhooks and outbox", `
CREATE TABLE webhooks (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url         text NOT NULL,
    events      text[] NOT NULL,
    secret      bytea NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    text NOT NULL UNIQUE,
    tenant_id   text NOT NULL,
    type        text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;`},
	{8, "feature flags and usage", `
CREATE TABLE feature_flags (
    name        text PRIMARY KEY,
    enabled     boolean NOT NULL DEFAULT false,
    rollout_pct integer NOT NULL DEFAULT 0 CHECK (rollout_pct BETWEEN 0 AND 100),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE feature_flag_tenants (
    name        text NOT NULL REFERENCES feature_flags(name) ON DELETE CASCADE,
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    enabled     boolean NOT NULL,
    PRIMARY KEY (name, tenant_id)
);
CREATE TABLE usage_daily (
    tenant_id   text NOT NULL,
    day         date NOT NULL,
    metric      text NOT NULL,
    value       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, metric)
);`},
	{9, "hmac key state", `
CREATE TABLE hmac_key_state (
    agent_id           text PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
    current_key_id     text NOT NULL,
    current_version    bigint NOT NULL,
    previous_key_id    text,
    previous_version   bigint,
    previous_not_after timestamptz,
    rotated_at         timestamptz NOT NULL
);`},
	{10, "jwks key index", `
CREATE TABLE jwks_keys (
    kid          text PRIMARY KEY,
    version      bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    activate_at  timestamptz NOT NULL,
    retire_at    timestamptz
);`},
}

// migrationLockID serialises migrations across replicas starting together.
const migrationLockID = 0x7a656e6d6967 // "zenmig"

// migrate applies pending migrations, each in its own transaction, under a
// session advisory lock held on one dedicated connection.
func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()

	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		// A fresh context: the unlock must happen even if ctx is cancelled.
		unlockCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(unlockCtx, "SELECT pg_advisory_unlock($1)", migrationLockID); err != nil {
			logger.Warn("migration lock not released; it goes with the connection", "err", err)
		}
	}()

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	var current int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("migrate: current version: %w", err)
	}
	if latest := migrations[len(migrations)-1].version; current > latest {
		return fmt.Errorf("migrate: database is at version %d, this build knows up to %d: refusing to run an older build", current, latest)
	}

	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		start := time.Now()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %d: %w", m.version, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %d (%s): %w", m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %d: record: %w", m.version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %d: commit: %w", m.version, err)
		}
		logger.Info("applied migration", "version", m.version, "name", m.name, "took", time.Since(start))
	}
	return nil
}

// openRedis connects to Redis and checks that it answers.
func openRedis(ctx context.Context, cfg RedisConfig, instanceID string) (*redis.Client, error) {
	opts := &redis.Options{
		Addr:         cfg.Addr,
		ClientName:   serviceName + "/" + instanceID,
		Username:     cfg.Username,
		Password:     cfg.Password,
		DB:           cfg.DB,
		PoolSize:     cfg.PoolSize,
		MinIdleConns: cfg.MinIdleConns,
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout,
	}
	if cfg.TLS {
		host, _, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("redis addr %q: %w", cfg.Addr, err)
		}
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	}
	rdb := redis.NewClient(opts)
	err := retry(ctx, 5, 200*time.Millisecond, func(ctx context.Context) error {
		pingCtx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
		defer cancel()
		return rdb.Ping(pingCtx).Err()
	})
	if err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return rdb, nil
}

// rateLimiter is a fixed-window counter per key, shared by all replicas.
// Fixed windows allow a burst of twice the limit at a window edge; for the
// customer API that is acceptable and much cheaper than a sliding log.
type rateLimiter struct {
	rdb    *redis.Client
	prefix string
	limit  int
	window time.Duration
}

func newRateLimiter(rdb *redis.Client, prefix, name string, limit int, window time.Duration) *rateLimiter {
	return &rateLimiter{rdb: rdb, prefix: prefix + "rl:" + name + ":", limit: limit, window: window}
}

// Allow counts one request for key. When Redis is unavailable it allows the
// request: rate limiting protects capacity, it is not an access control.
func (l *rateLimiter) Allow(ctx context.Context, key string) (allowed bool, remaining int, retryAfter time.Duration, err error) {
	windowStart := time.Now().Truncate(l.window)
	k := l.prefix + key + ":" + strconv.FormatInt(windowStart.Unix(), 10)

	pipe := l.rdb.TxPipeline()
	incr := pipe.Incr(ctx, k)
	pipe.ExpireNX(ctx, k, l.window+time.Second)
	if _, err := pipe.Exec(ctx); err != nil {
		return true, l.limit, 0, err
	}
	n := int(incr.Val())
	if n > l.limit {
		return false, 0, time.Until(windowStart.Add(l.window)), nil
	}
	return true, l.limit - n, 0, nil
}

// stateCache keeps rendered desired-state documents in Redis, keyed by
// cluster and revision. A revision never changes, so entries need no
// invalidation; they simply expire.
type stateCache struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
}

func (c *stateCache) key(clusterID string, rev int64) string {
	return c.prefix + "ds:" + clusterID + ":" + strconv.FormatInt(rev, 10)
}

func (c *stateCache) Get(ctx context.Context, clusterID string, rev int64) ([]byte, bool) {
	doc, err := c.rdb.Get(ctx, c.key(clusterID, rev)).Bytes()
	if err != nil {
		return nil, false
	}
	return doc, true
}

func (c *stateCache) Put(ctx context.Context, clusterID string, rev int64, doc []byte) error {
	return c.rdb.Set(ctx, c.key(clusterID, rev), doc, c.ttl).Err()
}

// tokenDenylist remembers revoked JWT IDs until the tokens would have
// expired anyway.
type tokenDenylist struct {
	rdb    *redis.Client
	prefix string
}

func (d *tokenDenylist) Revoke(ctx context.Context, jti string, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	return d.rdb.Set(ctx, d.prefix+"jti:"+jti, "1", ttl).Err()
}

// Revoked fails closed: if Redis cannot say, the token is treated as revoked.
func (d *tokenDenylist) Revoked(ctx context.Context, jti string) (bool, error) {
	_, err := d.rdb.Get(ctx, d.prefix+"jti:"+jti).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return true, err
	default:
		return true, nil
	}
}

// Feature flags known to this build. A flag in the database that this build
// does not know is ignored; an override of an unknown flag is a config error.
const (
	featureAdapterDriftEvents = "adapter-drift-events"
	featureAllowlistWildcards = "allowlist-wildcards"
	featureUsageMetering      = "usage-metering"
	featureStateCache         = "desired-state-cache"
	featureAuditExport        = "audit-export"
)

var knownFeatures = []string{
	featureAdapterDriftEvents,
	featureAllowlistWildcards,
	featureUsageMetering,
	featureStateCache,
	featureAuditExport,
}

func knownFeature(name string) bool {
	return slices.Contains(knownFeatures, name)
}

// flagState is one flag as loaded from the database.
type flagState struct {
	enabled    bool
	rolloutPct int
	tenants    map[string]bool
}

// featureFlags answers "is feature X on for tenant T". Precedence: instance
// override, then a per-tenant setting, then the percentage rollout, then the
// global switch.
type featureFlags struct {
	db        *sql.DB
	overrides map[string]bool
	logger    *slog.Logger

	mu    sync.RWMutex
	flags map[string]flagState
}

func newFeatureFlags(db *sql.DB, overrides map[string]bool, logger *slog.Logger) *featureFlags {
	return &featureFlags{db: db, overrides: overrides, logger: logger, flags: map[string]flagState{}}
}

func (f *featureFlags) Enabled(name, tenantID string) bool {
	if on, ok := f.overrides[name]; ok {
		return on
	}
	f.mu.RLock()
	st, ok := f.flags[name]
	f.mu.RUnlock()
	if !ok {
		return false
	}
	if on, ok := st.tenants[tenantID]; ok {
		return on
	}
	if st.rolloutPct > 0 && tenantID != "" && rolloutBucket(name, tenantID) < st.rolloutPct {
		return true
	}
	return st.enabled
}

// rolloutBucket maps a tenant to 0..99, stable per flag so that raising the
// percentage only ever adds tenants.
func rolloutBucket(flagName, tenantID string) int {
	h := fnv.New32a()
	h.Write([]byte(flagName))
	h.Write([]byte{0})
	h.Write([]byte(tenantID))
	return int(h.Sum32() % 100)
}

func (f *featureFlags) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rows, err := f.db.QueryContext(ctx, `
SELECT f.name, f.enabled, f.rollout_pct, t.tenant_id, t.enabled
FROM feature_flags f LEFT JOIN feature_flag_tenants t ON t.name = f.name`)
	if err != nil {
		return err
	}
	defer rows.Close()

	next := make(map[string]flagState)
	for rows.Next() {
		var (
			name          string
			st            flagState
			tenantID      sql.NullString
			tenantEnabled sql.NullBool
		)
		if err := rows.Scan(&name, &st.enabled, &st.rolloutPct, &tenantID, &tenantEnabled); err != nil {
			return err
		}
		if !knownFeature(name) {
			continue
		}
		cur, seen := next[name]
		if !seen {
			cur = flagState{enabled: st.enabled, rolloutPct: st.rolloutPct, tenants: map[string]bool{}}
		}
		if tenantID.Valid {
			cur.tenants[tenantID.String] = tenantEnabled.Bool
		}
		next[name] = cur
	}
	if err := rows.Err(); err != nil {
		return err
	}

	f.mu.Lock()
	f.flags = next
	f.mu.Unlock()
	return nil
}

// run reloads the flags periodically. A failed reload keeps the last good
// set; flags never fall back to "all off" because the database blinked.
func (f *featureFlags) run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := f.refresh(ctx); err != nil {
				f.logger.Warn("feature flag reload failed, keeping previous flags", "err", err)
			}
		}
	}
}

// agentService is the logic behind the agent routes of the mTLS listener.
// Every method receives the agent identity verified from the connection's
// SPIFFE ID; nothing an agent sends in a body can change who it is.
type agentService struct {
	store   *store
	cache   *stateCache
	flags   *featureFlags
	signer  *jwks.Manager
	usage   *usageCounter
	metrics *metrics
	logger  *slog.Logger
	now     func() time.Time
}

var _ backcmd.AgentService = (*agentService)(nil)

// desiredStateDoc is what GET /v1/agent/desired-state returns. It carries no
// timestamp, so one revision always renders to the same bytes.
type desiredStateDoc struct {
	ClusterID string           `json:"cluster_id"`
	Revision  int64            `json:"revision"`
	Adapters  []DesiredAdapter `json:"adapters"`
}

func stateETag(rev int64) string {
	return `"r` + strconv.FormatInt(rev, 10) + `"`
}

func (s *agentService) DesiredState(ctx context.Context, a identity.Agent, ifNoneMatch string) ([]byte, string, error) {
	rev, adapters, err := s.store.DesiredState(ctx, a.ClusterID)
	if err != nil {
		return nil, "", fmt.Errorf("desired state of %s: %w", a.ClusterID, err)
	}
	etag := stateETag(rev)
	if ifNoneMatch == etag {
		return nil, etag, backcmd.ErrNotModified
	}
	useCache := s.flags.Enabled(featureStateCache, a.TenantID)
	if useCache {
		if doc, ok := s.cache.Get(ctx, a.ClusterID, rev); ok {
			return doc, etag, nil
		}
	}
	if adapters == nil {
		adapters = []DesiredAdapter{}
	}
	doc, err := json.Marshal(desiredStateDoc{ClusterID: a.ClusterID, Revision: rev, Adapters: adapters})
	if err != nil {
		return nil, "", err
	}
	if useCache {
		if err := s.cache.Put(ctx, a.ClusterID, rev, doc); err != nil {
			s.logger.Debug("desired state not cached", "cluster", a.ClusterID, "err", err)
		}
	}
	return doc, etag, nil
}

func (s *agentService) Heartbeat(ctx context.Context, a identity.Agent, hb backcmd.Heartbeat) error {
	wasStale, err := s.store.RecordHeartbeat(ctx, a, hb.AgentVersion, hb.Adapters, s.now())
	if errors.Is(err, errNotFound) {
		return fmt.Errorf("%w: %s", backcmd.ErrUnknownAgent, a.ID)
	}
	if err != nil {
		return err
	}
	s.metrics.heartbeats.Inc()
	if s.flags.Enabled(featureUsageMetering, a.TenantID) {
		s.usage.Add(a.TenantID, "agent_heartbeats", 1)
	}
	if wasStale {
		s.logger.Info("agent recovered", "agent", a.AgentID, "cluster", a.ClusterID, "version", hb.AgentVersion)
		return s.store.EnqueueEvent(ctx, newEvent("agent.recovered", a.TenantID, map[string]string{
			"agent_id": a.AgentID, "cluster_id": a.ClusterID,
		}))
	}
	return nil
}

func (s *agentService) AdapterSync(ctx context.Context, a identity.Agent, inv backcmd.AdapterInventory) (backcmd.SyncResult, error) {
	applied, err := s.store.ReplaceObservedAdapters(ctx, a.ClusterID, inv.Revision, inv.Adapters)
	if err != nil {
		return backcmd.SyncResult{}, err
	}
	if !applied {
		// An older inventory arrived after a newer one; nothing to compare.
		return backcmd.SyncResult{Accepted: inv.Revision}, nil
	}
	_, desired, err := s.store.DesiredState(ctx, a.ClusterID)
	if err != nil {
		return backcmd.SyncResult{}, err
	}
	drift := adapterDrift(desired, inv.Adapters)
	if len(drift) > 0 {
		s.metrics.adapterDrift.Inc()
		if s.flags.Enabled(featureAdapterDriftEvents, a.TenantID) {
			if err := s.store.EnqueueEvent(ctx, newEvent("adapter.drift", a.TenantID, map[string]any{
				"cluster_id": a.ClusterID, "revision": inv.Revision, "drift": drift,
			})); err != nil {
				return backcmd.SyncResult{}, err
			}
		}
	}
	if s.flags.Enabled(featureUsageMetering, a.TenantID) {
		s.usage.Add(a.TenantID, "adapters_observed", int64(len(inv.Adapters)))
	}
	return backcmd.SyncResult{Accepted: inv.Revision, Drift: drift}, nil
}

// adapterDrift lists, in a stable order, how observed differs from desired.
func adapterDrift(desired []DesiredAdapter, observed []backcmd.AdapterObserved) []string {
	seen := make(map[string]backcmd.AdapterObserved, len(observed))
	for _, o := range observed {
		seen[o.Name] = o
	}
	var drift []string
	for _, d := range desired {
		o, ok := seen[d.Name]
		switch {
		case !ok:
			drift = append(drift, "missing "+d.Name)
		case o.Kind != d.Kind:
			drift = append(drift, fmt.Sprintf("kind %s: want %s, running %s", d.Name, d.Kind, o.Kind))
		case o.Version != d.Version:
			drift = append(drift, fmt.Sprintf("version %s: want %s, running %s", d.Name, d.Version, o.Version))
		}
		delete(seen, d.Name)
	}
	for name := range seen {
		drift = append(drift, "unexpected "+name)
	}
	sort.Strings(drift)
	return drift
}

// allowlistPayload is the signed content of an allowlist. The agent rebuilds
// it from the response and checks the signature with the published JWK.
type allowlistPayload struct {
	TenantID string    `json:"tenant_id"`
	Entries  []string  `json:"entries"`
	Issued   time.Time `json:"issued"`
}

func (s *agentService) Allowlist(ctx context.Context, a identity.Agent) (backcmd.SignedAllowlist, error) {
	entries, err := s.store.AllowlistEntries(ctx, a.TenantID)
	if err != nil {
		return backcmd.SignedAllowlist{}, err
	}
	patterns := make([]string, 0, len(entries))
	for _, e := range entries {
		if strings.Contains(e.Pattern, "*") && !s.flags.Enabled(featureAllowlistWildcards, a.TenantID) {
			continue
		}
		patterns = append(patterns, e.Pattern)
	}
	payload := allowlistPayload{TenantID: a.TenantID, Entries: patterns, Issued: s.now().UTC().Truncate(time.Second)}
	kid, sig, err := signES256(s.signer, payload)
	if err != nil {
		return backcmd.SignedAllowlist{}, err
	}
	return backcmd.SignedAllowlist{Entries: patterns, Issued: payload.Issued, KeyID: kid, Signature: sig}, nil
}

// signES256 signs the JSON of v with the active JWKS key and returns the kid
// and the base64url R||S signature, as in JWS.
func signES256(keys *jwks.Manager, v any) (string, string, error) {
	kid, priv, err := keys.Active()
	if err != nil {
		return "", "", err
	}
	msg, err := json.Marshal(v)
	if err != nil {
		return "", "", err
	}
	digest := sha256.Sum256(msg)
	r, sv, err := ecdsa.Sign(rand.Reader, priv, digest[:])
	if err != nil {
		return "", "", fmt.Errorf("sign: %w", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return kid, base64.RawURLEncoding.EncodeToString(sig), nil
}

// usageCounter accumulates usage in memory between flushes.
type usageCounter struct {
	mu     sync.Mutex
	deltas map[usageKey]int64
	now    func() time.Time
}

func newUsageCounter() *usageCounter {
	return &usageCounter{deltas: make(map[usageKey]int64), now: time.Now}
}

func (u *usageCounter) Add(tenantID, metric string, n int64) {
	k := usageKey{tenantID: tenantID, day: u.now().UTC().Format(time.DateOnly), metric: metric}
	u.mu.Lock()
	u.deltas[k] += n
	u.mu.Unlock()
}

// flush writes the accumulated deltas. On failure they are merged back and
// written with the next flush, so usage is delayed, not lost.
func (u *usageCounter) flush(ctx context.Context, st *store) error {
	u.mu.Lock()
	pending := u.deltas
	u.deltas = make(map[usageKey]int64)
	u.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	if err := st.AddUsage(ctx, pending); err != nil {
		u.mu.Lock()
		for k, v := range pending {
			u.deltas[k] += v
		}
		u.mu.Unlock()
		return err
	}
	return nil
}

// cachedKeyLookup keeps HMAC keys fetched from ZenLock in memory for a short
// TTL, so that a signed agent request does not cost a custody round trip.
// Failed lookups are never cached, and the TTL is far shorter than the
// overlap window, so a retired key stops verifying within one TTL.
type cachedKeyLookup struct {
	next    auth.KeyLookup
	ttl     time.Duration
	metrics *metrics

	mu      sync.Mutex
	entries map[string]cachedKey
}

type cachedKey struct {
	key     []byte
	expires time.Time
}

var _ auth.KeyLookup = (*cachedKeyLookup)(nil)

func newCachedKeyLookup(next auth.KeyLookup, ttl time.Duration, m *metrics) *cachedKeyLookup {
	return &cachedKeyLookup{next: next, ttl: ttl, metrics: m, entries: make(map[string]cachedKey)}
}

func (c *cachedKeyLookup) HMACKey(ctx context.Context, agentID, keyID string) ([]byte, error) {
	k := agentID + "/" + keyID
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		c.metrics.keyCache.WithLabelValues("hit").Inc()
		return e.key, nil
	}
	c.metrics.keyCache.WithLabelValues("miss").Inc()
	key, err := c.next.HMACKey(ctx, agentID, keyID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[k] = cachedKey{key: key, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return key, nil
}

// evictExpired drops and wipes expired entries; run by a background job.
func (c *cachedKeyLookup) evictExpired() {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			clear(e.key)
			delete(c.entries, k)
		}
	}
}

type ctxKey int

const (
	ctxKeyRequestID ctxKey = iota
	ctxKeyPrincipal
)

// principal is the caller of a customer API request, from its JWT.
type principal struct {
	TenantID string
	Subject  string // API token ID
	Scopes   []string
	TokenID  string // jti
	Expires  time.Time
}

func (p principal) has(scope string) bool {
	return slices.Contains(p.Scopes, scope) || slices.Contains(p.Scopes, "admin")
}

func principalFrom(ctx context.Context) (principal, bool) {
	p, ok := ctx.Value(ctxKeyPrincipal).(principal)
	return p, ok
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(ctxKeyRequestID).(string)
	return id
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// withRequestID takes the load balancer's X-Request-Id when it looks sane
// and makes one up otherwise.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDRE.MatchString(id) {
			id = newID("req")
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKeyRequestID, id)))
	})
}

// recoverer turns a handler panic into a 500 and a log line with the stack,
// instead of net/http's silent connection reset.
func recoverer(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				rec := recover()
				if rec == nil {
					return
				}
				if rec == http.ErrAbortHandler {
					panic(rec)
				}
				logger.Error("handler panic",
					"panic", fmt.Sprint(rec),
					"method", r.Method,
					"path", r.URL.Path,
					"request_id", requestIDFrom(r.Context()),
					"stack", string(debug.Stack()),
				)
				writeProblem(w, r, http.StatusInternalServerError, "internal error")
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// accessLog logs every request at debug level and slow or failed ones at
// warn level.
func accessLog(logger *slog.Logger, slow time.Duration, trusted []*net.IPNet) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			elapsed := time.Since(start)
			level := slog.LevelDebug
			if elapsed > slow || sw.status >= 500 {
				level = slog.LevelWarn
			}
			logger.Log(r.Context(), level, "request",
				"method", r.Method,
				"path", r.URL.Path,
				"status", sw.status,
				"bytes", sw.bytes,
				"elapsed", elapsed,
				"ip", clientIP(r, trusted),
				"request_id", requestIDFrom(r.Context()),
			)
		})
	}
}

// cors answers preflight requests from the configured origins. Credentials
// are not allowed: the API uses bearer tokens, never cookies.
func cors(origins []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" || !slices.Contains(origins, origin) {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// securityHeaders sets the headers every API response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// chain applies middleware so that the first one listed is the outermost.
func chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

func parseCIDRs(cidrs []string) []*net.IPNet {
	var out []*net.IPNet
	for _, c := range cidrs {
		if _, n, err := net.ParseCIDR(c); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// clientIP returns the caller's address. X-Forwarded-For is only believed
// when the direct peer is a trusted proxy, and then read from the right:
// the first address not belonging to a trusted proxy is the client.
func clientIP(r *http.Request, trusted []*net.IPNet) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	isTrusted := func(s string) bool {
		ip := net.ParseIP(strings.TrimSpace(s))
		if ip == nil {
			return false
		}
		for _, n := range trusted {
			if n.Contains(ip) {
				return true
			}
		}
		return false
	}
	if !isTrusted(host) {
		return host
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop != "" && !isTrusted(hop) {
			return hop
		}
	}
	return host
}

// problem is an RFC 9457 error body.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{
		Type:      "about:blank",
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		RequestID: requestIDFrom(r.Context()),
	})
}

func writeJSONResponse(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads a JSON body of at most max bytes into v, rejecting unknown
// fields and trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("content type %q: want application/json", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("body larger than %d bytes", tooBig.Limit)
		}
		return fmt.Errorf("malformed JSON: %w", err)
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// apiServer is the customer API served on the public listener.
type apiServer struct {
	store        *store
	flags        *featureFlags
	keys         *jwks.Manager
	denylist     *tokenDenylist
	limiter      *rateLimiter // per tenant
	tokenLimiter *rateLimiter // per API token, on exchange
	auth         AuthConfig
	rateLimits   bool
	maxBody      int64
	allowHTTP    bool // webhook URLs
	pepper       []byte
	trusted      []*net.IPNet
	metrics      *metrics
	logger       *slog.Logger
	now          func() time.Time

	tenantMu    sync.Mutex
	tenantCache map[string]tenantStatus
}

// tenantStatus is a cached suspension flag.
type tenantStatus struct {
	suspended bool
	expires   time.Time
}

// apiClaims are the claims of a customer API JWT.
type apiClaims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tid"`
	Scope    string `json:"scope"`
}

// routes registers the customer API on the public mux. Agent routes are not
// here and never will be: they live on the mTLS listener only.
func (a *apiServer) routes(mux *http.ServeMux) {
	mux.Handle("POST /v1/tokens", a.metrics.instrumentRoute("POST /v1/tokens", http.HandlerFunc(a.handleTokenExchange)))
	a.route(mux, "POST /v1/tokens/revoke", "", a.handleRevokeToken)
	a.route(mux, "POST /v1/api-tokens", "tokens:write", a.handleCreateAPIToken)

	a.route(mux, "GET /v1/clusters", "clusters:read", a.handleListClusters)
	a.route(mux, "POST /v1/clusters", "clusters:write", a.handleCreateCluster)
	a.route(mux, "GET /v1/clusters/{cluster}", "clusters:read", a.handleGetCluster)
	a.route(mux, "DELETE /v1/clusters/{cluster}", "clusters:write", a.handleDeleteCluster)
	a.route(mux, "GET /v1/clusters/{cluster}/agents", "clusters:read", a.handleListAgents)
	a.route(mux, "PUT /v1/clusters/{cluster}/adapters/{name}", "adapters:write", a.handlePutAdapter)
	a.route(mux, "DELETE /v1/clusters/{cluster}/adapters/{name}", "adapters:write", a.handleDeleteAdapter)

	a.route(mux, "GET /v1/allowlist", "allowlist:read", a.handleListAllowlist)
	a.route(mux, "POST /v1/allowlist", "allowlist:write", a.handleAddAllowlist)
	a.route(mux, "DELETE /v1/allowlist/{id}", "allowlist:write", a.handleDeleteAllowlist)

	a.route(mux, "GET /v1/audit", "audit:read", a.handleListAudit)
	a.route(mux, "GET /v1/webhooks", "webhooks:read", a.handleListWebhooks)
	a.route(mux, "POST /v1/webhooks", "webhooks:write", a.handleCreateWebhook)
}

// route registers an authenticated route: metrics, then the JWT check, the
// tenant suspension check, the tenant rate limit, and the scope check.
func (a *apiServer) route(mux *http.ServeMux, pattern, scope string, h http.HandlerFunc) {
	var next http.Handler = h
	if scope != "" {
		next = a.requireScope(scope, next)
	}
	next = a.rateLimit(next)
	next = a.requireActiveTenant(next)
	next = a.authenticate(next)
	mux.Handle(pattern, a.metrics.instrumentRoute(pattern, next))
}

func (a *apiServer) keyFunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	pub, ok := a.keys.PublicKey(kid)
	if !ok {
		return nil, fmt.Errorf("unknown signing key %q", kid)
	}
	return pub, nil
}

func (a *apiServer) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || raw == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="zen-mesh"`)
			writeProblem(w, r, http.StatusUnauthorized, "bearer token required")
			return
		}
		var claims apiClaims
		_, err := jwt.ParseWithClaims(raw, &claims, a.keyFunc,
			jwt.WithValidMethods([]string{"ES256"}),
			jwt.WithIssuer(a.auth.Issuer),
			jwt.WithAudience(a.auth.Audience),
			jwt.WithLeeway(a.auth.Leeway),
			jwt.WithExpirationRequired(),
		)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="zen-mesh", error="invalid_token"`)
			writeProblem(w, r, http.StatusUnauthorized, "invalid token")
			return
		}
		revoked, err := a.denylist.Revoked(r.Context(), claims.ID)
		if err != nil {
			a.logger.Error("token denylist unavailable, refusing token", "err", err)
		}
		if revoked {
			writeProblem(w, r, http.StatusUnauthorized, "token revoked")
			return
		}
		p := principal{
			TenantID: claims.TenantID,
			Subject:  claims.Subject,
			Scopes:   strings.Fields(claims.Scope),
			TokenID:  claims.ID,
			Expires:  claims.ExpiresAt.Time,
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKeyPrincipal, p)))
	})
}

func (a *apiServer) requireScope(scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := principalFrom(r.Context())
		if !p.has(scope) {
			writeProblem(w, r, http.StatusForbidden, "token lacks scope "+scope)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireActiveTenant refuses every request of a suspended tenant, whatever
// its token says. The flag is cached for a minute per replica.
func (a *apiServer) requireActiveTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := principalFrom(r.Context())
		suspended, err := a.tenantSuspended(r.Context(), p.TenantID)
		if err != nil {
			a.storeError(w, r, err)
			return
		}
		if suspended {
			writeProblem(w, r, http.StatusForbidden, "tenant is suspended")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *apiServer) tenantSuspended(ctx context.Context, tenantID string) (bool, error) {
	now := a.now()
	a.tenantMu.Lock()
	cached, ok := a.tenantCache[tenantID]
	a.tenantMu.Unlock()
	if ok && now.Before(cached.expires) {
		return cached.suspended, nil
	}
	t, err := a.store.Tenant(ctx, tenantID)
	if err != nil {
		return false, err
	}
	a.tenantMu.Lock()
	a.tenantCache[tenantID] = tenantStatus{suspended: t.Suspended, expires: now.Add(time.Minute)}
	a.tenantMu.Unlock()
	return t.Suspended, nil
}

func (a *apiServer) rateLimit(next http.Handler) http.Handler {
	if !a.rateLimits {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := principalFrom(r.Context())
		allowed, remaining, retryAfter, err := a.limiter.Allow(r.Context(), p.TenantID)
		if err != nil {
			a.logger.Warn("rate limiter unavailable, allowing request", "err", err)
		}
		w.Header().Set("RateLimit-Remaining", strconv.Itoa(remaining))
		if !allowed {
			a.metrics.rateLimited.WithLabelValues("tenant").Inc()
			w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter.Seconds())+1))
			writeProblem(w, r, http.StatusTooManyRequests, "tenant request limit reached")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// audit records a customer-visible audit entry. A failure is logged, not
// returned: the change it describes has already been committed.
func (a *apiServer) audit(r *http.Request, action, target string) {
	p, _ := principalFrom(r.Context())
	err := a.store.InsertAudit(r.Context(), AuditEntry{
		TenantID:  p.TenantID,
		Actor:     p.Subject,
		Action:    action,
		Target:    target,
		RequestID: requestIDFrom(r.Context()),
		RemoteIP:  clientIP(r, a.trusted),
	})
	if err != nil {
		a.logger.Error("audit entry not written", "action", action, "target", target, "err", err)
	}
}

// storeError maps store errors to responses.
func (a *apiServer) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errNotFound):
		writeProblem(w, r, http.StatusNotFound, "not found")
	case errors.Is(err, errConflict):
		writeProblem(w, r, http.StatusConflict, "already exists")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the response.
	default:
		a.logger.Error("store error", "path", r.URL.Path, "request_id", requestIDFrom(r.Context()), "err", err)
		writeProblem(w, r, http.StatusInternalServerError, "internal error")
	}
}

// hashAPIToken returns the stored form of an API token secret.
func (a *apiServer) hashAPIToken(secret string) []byte {
	mac := hmac.New(sha256.New, a.pepper)
	mac.Write([]byte(secret))
	return mac.Sum(nil)
}

// handleTokenExchange trades an API token for a short-lived JWT.
func (a *apiServer) handleTokenExchange(w http.ResponseWriter, r *http.Request) {
	var req struct {
		APIToken string `json:"api_token"`
	}
	if err := decodeJSON(w, r, 4<<10, &req); err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if !strings.HasPrefix(req.APIToken, "zen_") {
		writeProblem(w, r, http.StatusUnauthorized, "invalid API token")
		return
	}
	hash := a.hashAPIToken(req.APIToken)
	if a.rateLimits {
		allowed, _, retryAfter, err := a.tokenLimiter.Allow(r.Context(), hex.EncodeToString(hash[:8]))
		if err != nil {
			a.logger.Warn("rate limiter unavailable, allowing token exchange", "err", err)
		}
		if !allowed {
			a.metrics.rateLimited.WithLabelValues("token_exchange").Inc()
			w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter.Seconds())+1))
			writeProblem(w, r, http.StatusTooManyRequests, "too many token exchanges")
			return
		}
	}
	tok, err := a.store.UseAPIToken(r.Context(), hash)
	if errors.Is(err, errNotFound) {
		writeProblem(w, r, http.StatusUnauthorized, "invalid API token")
		return
	}
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	tenant, err := a.store.Tenant(r.Context(), tok.TenantID)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	if tenant.Suspended {
		writeProblem(w, r, http.StatusForbidden, "tenant is suspended")
		return
	}

	now := a.now()
	expires := now.Add(a.auth.TokenTTL)
	if tok.ExpiresAt != nil && tok.ExpiresAt.Before(expires) {
		expires = *tok.ExpiresAt
	}
	claims := apiClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.auth.Issuer,
			Subject:   tok.ID,
			Audience:  jwt.ClaimStrings{a.auth.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
			ID:        newID("jti"),
		},
		TenantID: tok.TenantID,
		Scope:    strings.Join(tok.Scopes, " "),
	}
	kid, priv, err := a.keys.Active()
	if err != nil {
		a.logger.Error("no signing key", "err", err)
		writeProblem(w, r, http.StatusServiceUnavailable, "token signing unavailable")
		return
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = kid
	signed, err := t.SignedString(priv)
	if err != nil {
		a.logger.Error("sign token", "err", err)
		writeProblem(w, r, http.StatusInternalServerError, "internal error")
		return
	}
	writeJSONResponse(w, http.StatusOK, map[string]any{
		"access_token": signed,
		"token_type":   "Bearer",
		"expires_in":   int(expires.Sub(now).Seconds()),
		"scope":        claims.Scope,
	})
}

func (a *apiServer) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	if err := a.denylist.Revoke(r.Context(), p.TokenID, p.Expires.Add(a.auth.Leeway)); err != nil {
		a.logger.Error("revoke token", "err", err)
		writeProblem(w, r, http.StatusServiceUnavailable, "revocation unavailable, try again")
		return
	}
	a.audit(r, "token.revoked", p.TokenID)
	w.WriteHeader(http.StatusNoContent)
}

// apiScopes are the scopes an API token may be granted.
var apiScopes = []string{
	"admin",
	"clusters:read", "clusters:write",
	"adapters:write",
	"allowlist:read", "allowlist:write",
	"audit:read",
	"webhooks:read", "webhooks:write",
	"tokens:write",
}

func (a *apiServer) handleCreateAPIToken(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	var req struct {
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes"`
		ExpiresIn int64    `json:"expires_in_seconds"`
	}
	if err := decodeJSON(w, r, a.maxBody, &req); err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if req.Name == "" || len(req.Name) > 100 || len(req.Scopes) == 0 {
		writeProblem(w, r, http.StatusUnprocessableEntity, "name (at most 100 characters) and scopes are required")
		return
	}
	for _, s := range req.Scopes {
		if !slices.Contains(apiScopes, s) {
			writeProblem(w, r, http.StatusUnprocessableEntity, "unknown scope "+s)
			return
		}
		// A token cannot mint a token stronger than itself.
		if !p.has(s) {
			writeProblem(w, r, http.StatusForbidden, "cannot grant scope "+s+" that the caller lacks")
			return
		}
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		writeProblem(w, r, http.StatusInternalServerError, "internal error")
		return
	}
	plain := "zen_" + base64.RawURLEncoding.EncodeToString(secret[:])
	tok := APIToken{TenantID: p.TenantID, Name: req.Name, Scopes: req.Scopes, CreatedBy: p.Subject}
	if req.ExpiresIn > 0 {
		exp := a.now().Add(time.Duration(req.ExpiresIn) * time.Second)
		tok.ExpiresAt = &exp
	}
	tok, err := a.store.CreateAPIToken(r.Context(), tok, a.hashAPIToken(plain))
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	a.audit(r, "api_token.created", tok.ID)
	// The secret is shown once and never stored in clear.
	writeJSONResponse(w, http.StatusCreated, map[string]any{"token": tok, "secret": plain})
}

var resourceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$`)

func (a *apiServer) handleListClusters(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	clusters, err := a.store.ListClusters(r.Context(), p.TenantID)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	if clusters == nil {
		clusters = []Cluster{}
	}
	writeJSONResponse(w, http.StatusOK, map[string]any{"clusters": clusters})
}

func (a *apiServer) handleCreateCluster(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	var req struct {
		Name   string `json:"name"`
		Region string `json:"region"`
	}
	if err := decodeJSON(w, r, a.maxBody, &req); err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if !resourceNameRE.MatchString(req.Name) {
		writeProblem(w, r, http.StatusUnprocessableEntity, "name must be 3-40 lower-case letters, digits or dashes")
		return
	}
	if req.Region == "" {
		writeProblem(w, r, http.StatusUnprocessableEntity, "region is required")
		return
	}
	c, err := a.store.CreateCluster(r.Context(), Cluster{TenantID: p.TenantID, Name: req.Name, Region: req.Region})
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	a.audit(r, "cluster.created", c.ID)
	w.Header().Set("Location", "/v1/clusters/"+c.ID)
	writeJSONResponse(w, http.StatusCreated, c)
}

func (a *apiServer) handleGetCluster(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	c, err := a.store.Cluster(r.Context(), p.TenantID, r.PathValue("cluster"))
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	writeJSONResponse(w, http.StatusOK, c)
}

func (a *apiServer) handleDeleteCluster(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	id := r.PathValue("cluster")
	if err := a.store.DeleteCluster(r.Context(), p.TenantID, id); err != nil {
		a.storeError(w, r, err)
		return
	}
	a.audit(r, "cluster.deleted", id)
	w.WriteHeader(http.StatusNoContent)
}

func (a *apiServer) handleListAgents(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	agents, err := a.store.ListAgents(r.Context(), p.TenantID, r.PathValue("cluster"))
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	if agents == nil {
		agents = []AgentRecord{}
	}
	writeJSONResponse(w, http.StatusOK, map[string]any{"agents": agents})
}

// clusterOf loads the cluster named in the path and checks it belongs to the
// caller's tenant, writing the error response itself.
func (a *apiServer) clusterOf(w http.ResponseWriter, r *http.Request) (Cluster, bool) {
	p, _ := principalFrom(r.Context())
	c, err := a.store.Cluster(r.Context(), p.TenantID, r.PathValue("cluster"))
	if err != nil {
		a.storeError(w, r, err)
		return Cluster{}, false
	}
	return c, true
}

func (a *apiServer) handlePutAdapter(w http.ResponseWriter, r *http.Request) {
	c, ok := a.clusterOf(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if !resourceNameRE.MatchString(name) {
		writeProblem(w, r, http.StatusUnprocessableEntity, "invalid adapter name")
		return
	}
	var req struct {
		Kind    string          `json:"kind"`
		Version string          `json:"version"`
		Config  json.RawMessage `json:"config"`
	}
	if err := decodeJSON(w, r, a.maxBody, &req); err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if req.Kind == "" || req.Version == "" {
		writeProblem(w, r, http.StatusUnprocessableEntity, "kind and version are required")
		return
	}
	if len(req.Config) == 0 {
		req.Config = json.RawMessage(`{}`)
	}
	rev, err := a.store.PutDesiredAdapter(r.Context(), c.TenantID, c.ID, DesiredAdapter{
		Name: name, Kind: req.Kind, Version: req.Version, Config: req.Config,
	})
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	a.audit(r, "adapter.updated", c.ID+"/"+name)
	writeJSONResponse(w, http.StatusOK, map[string]any{"cluster_id": c.ID, "adapter": name, "revision": rev})
}

func (a *apiServer) handleDeleteAdapter(w http.ResponseWriter, r *http.Request) {
	c, ok := a.clusterOf(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	rev, err := a.store.DeleteDesiredAdapter(r.Context(), c.TenantID, c.ID, name)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	a.audit(r, "adapter.deleted", c.ID+"/"+name)
	writeJSONResponse(w, http.StatusOK, map[string]any{"cluster_id": c.ID, "revision": rev})
}

// validAllowlistPattern accepts a host name, optionally with a leading "*."
// wildcard label and a port, or a CIDR block.
func validAllowlistPattern(p string) error {
	if _, _, err := net.ParseCIDR(p); err == nil {
		return nil
	}
	host := p
	if h, port, err := net.SplitHostPort(p); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("invalid port %q", port)
		}
		host = h
	}
	host = strings.TrimPrefix(host, "*.")
	if strings.Contains(host, "*") {
		return errors.New("a wildcard is only allowed as the whole first label")
	}
	if len(host) == 0 || len(host) > 253 {
		return errors.New("invalid host name length")
	}
	for _, label := range strings.Split(host, ".") {
		if !hostLabelRE.MatchString(label) {
			return fmt.Errorf("invalid host name label %q", label)
		}
	}
	return nil
}

var hostLabelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func (a *apiServer) handleListAllowlist(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	entries, err := a.store.AllowlistEntries(r.Context(), p.TenantID)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	if entries == nil {
		entries = []AllowlistEntry{}
	}
	writeJSONResponse(w, http.StatusOK, map[string]any{"entries": entries})
}

func (a *apiServer) handleAddAllowlist(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	var req struct {
		Pattern string `json:"pattern"`
		Comment string `json:"comment"`
	}
	if err := decodeJSON(w, r, a.maxBody, &req); err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	req.Pattern = strings.ToLower(strings.TrimSpace(req.Pattern))
	if err := validAllowlistPattern(req.Pattern); err != nil {
		writeProblem(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if strings.HasPrefix(req.Pattern, "*.") && !a.flags.Enabled(featureAllowlistWildcards, p.TenantID) {
		writeProblem(w, r, http.StatusUnprocessableEntity, "wildcard patterns are not enabled for this tenant")
		return
	}
	e, err := a.store.AddAllowlistEntry(r.Context(), p.TenantID, AllowlistEntry{
		Pattern: req.Pattern, Comment: req.Comment, CreatedBy: p.Subject,
	})
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	a.audit(r, "allowlist.added", req.Pattern)
	writeJSONResponse(w, http.StatusCreated, e)
}

func (a *apiServer) handleDeleteAllowlist(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	id := r.PathValue("id")
	if err := a.store.DeleteAllowlistEntry(r.Context(), p.TenantID, id); err != nil {
		a.storeError(w, r, err)
		return
	}
	a.audit(r, "allowlist.removed", id)
	w.WriteHeader(http.StatusNoContent)
}

// handleListAudit pages through the audit log with ?before=<id>&limit=<n>.
// With ?format=ndjson (audit-export feature) it streams every entry instead.
func (a *apiServer) handleListAudit(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	q := r.URL.Query()
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 || limit > 500 {
		limit = 100
	}
	if q.Get("format") == "ndjson" && a.flags.Enabled(featureAuditExport, p.TenantID) {
		a.exportAudit(w, r, p.TenantID)
		return
	}
	entries, err := a.store.ListAudit(r.Context(), p.TenantID, before, limit)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	resp := map[string]any{"entries": entries}
	if len(entries) == limit {
		resp["next"] = "/v1/audit?before=" + strconv.FormatInt(entries[len(entries)-1].ID, 10) + "&limit=" + strconv.Itoa(limit)
	}
	writeJSONResponse(w, http.StatusOK, resp)
}

// exportAudit streams the whole audit log of a tenant as NDJSON, newest
// first, flushing after every page.
func (a *apiServer) exportAudit(w http.ResponseWriter, r *http.Request, tenantID string) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="audit.ndjson"`)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	var before int64
	for {
		page, err := a.store.ListAudit(r.Context(), tenantID, before, 500)
		if err != nil {
			// Headers are gone; all we can do is stop and log.
			a.logger.Error("audit export interrupted", "tenant", tenantID, "err", err)
			return
		}
		for _, e := range page {
			if err := enc.Encode(e); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if len(page) < 500 {
			return
		}
		before = page[len(page)-1].ID
	}
}

func (a *apiServer) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	hooks, err := a.store.ListWebhooks(r.Context(), p.TenantID)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	if hooks == nil {
		hooks = []Webhook{}
	}
	writeJSONResponse(w, http.StatusOK, map[string]any{"webhooks": hooks})
}

func (a *apiServer) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	var req struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decodeJSON(w, r, a.maxBody, &req); err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if err := validWebhookURL(req.URL, a.allowHTTP); err != nil {
		writeProblem(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if len(req.Events) == 0 {
		writeProblem(w, r, http.StatusUnprocessableEntity, "at least one event type is required")
		return
	}
	for _, ev := range req.Events {
		if !slices.Contains(webhookEvents, ev) {
			writeProblem(w, r, http.StatusUnprocessableEntity, "unknown event type "+ev)
			return
		}
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		writeProblem(w, r, http.StatusInternalServerError, "internal error")
		return
	}
	hook, err := a.store.CreateWebhook(r.Context(), Webhook{TenantID: p.TenantID, URL: req.URL, Events: req.Events, Secret: secret})
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	a.audit(r, "webhook.created", hook.ID)
	writeJSONResponse(w, http.StatusCreated, map[string]any{
		"webhook":        hook,
		"signing_secret": base64.StdEncoding.EncodeToString(secret),
	})
}

// job is a periodic background task.
type job struct {
	name  string
	every time.Duration
	run   func(ctx context.Context) error
}

// runJobs runs each job on its own ticker until ctx ends. The first run of
// each job is delayed by a random fraction of its period so that replicas
// started together do not hit the database in lockstep.
func runJobs(ctx context.Context, jobs []job, m *metrics, logger *slog.Logger) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, j := range jobs {
		g.Go(func() error {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(mathrand.N(j.every)):
			}
			t := time.NewTicker(j.every)
			defer t.Stop()
			for {
				start := time.Now()
				err := j.run(ctx)
				m.observeJob(j.name, start, err)
				if err != nil && ctx.Err() == nil {
					logger.Warn("job failed", "job", j.name, "err", err)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
			}
		})
	}
	return g.Wait()
}

// leaderLockID is the advisory lock held by the replica that runs the
// singleton controllers.
const leaderLockID = 0x7a656e6c6561 // "zenlea"

// runAsLeader competes for leadership until ctx ends and runs fn while it
// holds it. Leadership is a PostgreSQL session advisory lock: it is released
// by the server when the holder's connection dies, so a crashed leader is
// replaced within one retry period.
func runAsLeader(ctx context.Context, db *sql.DB, logger *slog.Logger, fn func(context.Context) error) error {
	logger = logger.With("component", "leader")
	for {
		if err := lead(ctx, db, logger, fn); err != nil && ctx.Err() == nil {
			logger.Warn("leadership ended", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(15 * time.Second):
		}
	}
}

func lead(ctx context.Context, db *sql.DB, logger *slog.Logger, fn func(context.Context) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()

	var acquired bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", leaderLockID).Scan(&acquired); err != nil {
		return err
	}
	if !acquired {
		return nil
	}
	logger.Info("acquired leadership")
	leadCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	// If the lock connection dies, the lock is gone: stop leading at once.
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-leadCtx.Done():
				return
			case <-t.C:
				if err := conn.PingContext(leadCtx); err != nil && leadCtx.Err() == nil {
					logger.Error("leader connection lost, stepping down", "err", err)
					cancel()
					return
				}
			}
		}
	}()

	err = fn(leadCtx)
	cancel()
	unlockCtx, unlockCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer unlockCancel()
	if _, uerr := conn.ExecContext(unlockCtx, "SELECT pg_advisory_unlock($1)", leaderLockID); uerr != nil {
		logger.Warn("leader lock not released; it goes with the connection", "err", uerr)
	}
	logger.Info("released leadership")
	return err
}

// sweepStaleAgents marks agents without a recent heartbeat as stale and
// emits an agent.stale event for each.
func sweepStaleAgents(st *store, m *metrics, after time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		stale, err := st.MarkStaleAgents(ctx, time.Now().Add(-after))
		if err != nil {
			return err
		}
		m.staleAgents.Set(float64(len(stale)))
		var errs []error
		for _, a := range stale {
			ev := newEvent("agent.stale", a.TenantID, map[string]string{
				"agent_id": a.ID, "cluster_id": a.ClusterID, "spiffe_id": a.SPIFFEID,
			})
			if err := st.EnqueueEvent(ctx, ev); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

// enforceAuditRetention deletes audit entries past retention in batches, so
// that one run never holds a long lock on the table.
func enforceAuditRetention(st *store, retention time.Duration, logger *slog.Logger) func(context.Context) error {
	const batch = 5000
	return func(ctx context.Context) error {
		cutoff := time.Now().Add(-retention)
		var total int64
		for ctx.Err() == nil {
			n, err := st.DeleteAuditBefore(ctx, cutoff, batch)
			if err != nil {
				return err
			}
			total += n
			if n < batch {
				break
			}
		}
		if total > 0 {
			logger.Info("deleted expired audit entries", "count", total, "cutoff", cutoff)
		}
		return ctx.Err()
	}
}

// relayOutbox publishes pending outbox events in order. It stops at the
// first failure so that events of one tenant are never reordered.
func relayOutbox(st *store, pub *eventPublisher, m *metrics, batch int) func(context.Context) error {
	return func(ctx context.Context) error {
		pending, err := st.PendingEvents(ctx, batch)
		if err != nil {
			return err
		}
		sent := make([]int64, 0, len(pending))
		var pubErr error
		for _, row := range pending {
			if pubErr = pub.Publish(ctx, row.ev); pubErr != nil {
				break
			}
			sent = append(sent, row.seq)
		}
		if len(sent) > 0 {
			if err := st.MarkEventsSent(ctx, sent); err != nil {
				// They will be published again and deduplicated by ID.
				return errors.Join(pubErr, err)
			}
		}
		if n, err := st.CountPendingEvents(ctx); err == nil {
			m.outboxPending.Set(float64(n))
		}
		return pubErr
	}
}

// newZenLockClient builds the custody client. Its client certificate is a
// cert-manager Certificate too, reloaded on renewal like the server ones.
func newZenLockClient(cfg ZenLockConfig, cert *certreload.Reloader) (*zenlock.Client, error) {
	caPEM, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("zenlock CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("zenlock CA %s holds no certificates", cfg.CAFile)
	}
	transport := &http.Transport{
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS13,
			RootCAs:    roots,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return cert.GetCertificate(nil)
			},
		},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     time.Minute,
	}
	return zenlock.New(cfg.URL, &http.Client{Transport: transport, Timeout: cfg.Timeout}, serviceName)
}

// run starts everything and blocks until ctx is cancelled (SIGTERM) or a
// component fails, then shuts down in order.
func run(ctx context.Context, args []string) error {
	cfg, err := loadConfig(args, os.LookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger, err := newLogger(cfg.Telemetry.LogLevel, cfg.Telemetry.LogFormat, os.Stderr)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	slog.SetDefault(logger)
	if err := validateConfig(cfg); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	logConfig(logger, cfg)

	m := newMetrics(cfg.Telemetry.MetricsNamespace)
	db, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	m.registerDBStats(cfg.Telemetry.MetricsNamespace, db)
	if cfg.Database.MigrateOnStart {
		if err := migrate(ctx, db, logger); err != nil {
			return err
		}
	}
	st := newStore(db, cfg.Database.StatementTimeout)

	rdb, err := openRedis(ctx, cfg.Redis, cfg.InstanceID)
	if err != nil {
		return err
	}
	defer rdb.Close()
	nc, js, err := connectNATS(cfg.NATS, cfg.InstanceID, logger)
	if err != nil {
		return err
	}
	flags := newFeatureFlags(db, cfg.Features.Overrides, logger)
	if err := flags.refresh(ctx); err != nil {
		return fmt.Errorf("feature flags: %w", err)
	}

	zlCert, err := certreload.New(cfg.ZenLock.CertFile, cfg.ZenLock.KeyFile, logger)
	if err != nil {
		return fmt.Errorf("zenlock client certificate: %w", err)
	}
	custody, err := newZenLockClient(cfg.ZenLock, zlCert)
	if err != nil {
		return err
	}
	keys, err := jwks.NewManager(jwks.Config{
		Custody:     custody,
		Index:       jwksIndex{s: st},
		RotateEvery: cfg.Auth.JWKSRotateEvery,
		PrePublish:  cfg.Auth.JWKSPrePublish,
		PublishFor:  cfg.Auth.JWKSPublishFor,
		Logger:      logger,
	})
	if err != nil {
		return err
	}
	if err := keys.Sync(ctx); err != nil {
		return fmt.Errorf("jwks: initial sync: %w", err)
	}
	rotationCtrl, err := rotation.NewHMACKeyRotationController(rotation.Config{
		Custody:  custody,
		State:    hmacStateStore{s: st},
		Interval: cfg.Rotation.HMACInterval,
		Overlap:  cfg.Rotation.HMACOverlap,
		Resync:   cfg.Rotation.HMACResync,
		Logger:   logger,
	})
	if err != nil {
		return err
	}
	keyLookup := newCachedKeyLookup(rotationCtrl, cfg.Rotation.KeyCacheTTL, m)
	spiffeVerifier, err := identity.NewVerifier(cfg.MTLS.TrustDomain)
	if err != nil {
		return err
	}
	hmacVerifier := auth.NewHMACVerifier(keyLookup, backcmd.AgentIDFromRequest,
		auth.WithMaxSkew(cfg.MTLS.HMACMaxSkew),
		auth.WithMaxBody(cfg.MTLS.HMACMaxBody),
		auth.WithRejectHook(func(r *http.Request, reason string) {
			m.hmacRejects.WithLabelValues(reason).Inc()
		}),
	)
	usage := newUsageCounter()
	agents := &agentService{
		store:   st,
		cache:   &stateCache{rdb: rdb, prefix: cfg.Redis.KeyPrefix, ttl: time.Hour},
		flags:   flags,
		signer:  keys,
		usage:   usage,
		metrics: m,
		logger:  logger.With("component", "agent-api"),
		now:     time.Now,
	}

	// Agent routes exist only on the mTLS listener, and the back end does not
	// start without it. log.Fatalf, not a returned error: no caller or later
	// refactoring gets the chance to log this and carry on.
	if !cfg.MTLS.Required {
		log.Fatalf("mtls: ZEN_MTLS_REQUIRED=false is not supported: agent routes are served over mTLS only")
	}
	if err := validateMTLSConfig(cfg.MTLS); err != nil {
		log.Fatalf("mtls: refusing to start the agent API: %v", err)
	}
	serverCert, err := certreload.New(cfg.MTLS.CertFile, cfg.MTLS.KeyFile, logger)
	if err != nil {
		log.Fatalf("mtls: server certificate: %v", err)
	}
	mtlsListener, err := backcmd.NewMTLSListener(backcmd.MTLSOptions{
		Addr:         cfg.MTLS.Addr,
		ClientCAFile: cfg.MTLS.ClientCAFile,
		ServerCert:   serverCert,
		SPIFFE:       spiffeVerifier,
		HMAC:         hmacVerifier,
		Agents:       agents,
		Metrics:      m,
		Logger:       logger,
	})
	if err != nil {
		log.Fatalf("mtls: %v", err)
	}

	evidenceHandler, err := evidence.Handler()
	if err != nil {
		return err
	}
	var ready atomic.Bool
	publicMux := backcmd.NewPublicMux(backcmd.PublicDeps{
		JWKS:     keys,
		Evidence: evidenceHandler,
		Ready: func(ctx context.Context) error {
			if !ready.Load() {
				return errors.New("starting or shutting down")
			}
			return errors.Join(st.Ping(ctx), rdb.Ping(ctx).Err())
		},
	})
	trusted := parseCIDRs(cfg.HTTP.TrustedProxies)
	api := &apiServer{
		store:        st,
		flags:        flags,
		keys:         keys,
		denylist:     &tokenDenylist{rdb: rdb, prefix: cfg.Redis.KeyPrefix},
		limiter:      newRateLimiter(rdb, cfg.Redis.KeyPrefix, "tenant", cfg.RateLimit.RequestsPerMinute, time.Minute),
		tokenLimiter: newRateLimiter(rdb, cfg.Redis.KeyPrefix, "token", cfg.RateLimit.TokenExchangesPerMinute, time.Minute),
		auth:         cfg.Auth,
		rateLimits:   cfg.RateLimit.Enabled,
		maxBody:      cfg.HTTP.MaxBodyBytes,
		allowHTTP:    cfg.Webhooks.AllowHTTP,
		pepper:       []byte(cfg.Auth.APITokenPepper),
		trusted:      trusted,
		metrics:      m,
		logger:       logger.With("component", "customer-api"),
		now:          time.Now,
		tenantCache:  make(map[string]tenantStatus),
	}
	api.routes(publicMux)
	publicServer := &http.Server{
		Addr: cfg.HTTP.Addr,
		Handler: chain(publicMux,
			withRequestID,
			recoverer(logger),
			accessLog(logger, cfg.Telemetry.SlowRequest, trusted),
			securityHeaders,
			cors(cfg.HTTP.CORSOrigins),
		),
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    cfg.HTTP.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	opsServer := &http.Server{
		Addr:              cfg.Ops.Addr,
		Handler:           opsMux(m, cfg.Ops.EnablePprof),
		ReadHeaderTimeout: 5 * time.Second,
	}

	publisher := &eventPublisher{js: js}
	dispatcher := newWebhookDispatcher(js, cfg.NATS.Stream, st, cfg.Webhooks, m, logger)
	localJobs := []job{
		{"usage_flush", cfg.Jobs.UsageFlushEvery, func(ctx context.Context) error { return usage.flush(ctx, st) }},
		{"hmac_key_cache_evict", cfg.Rotation.KeyCacheTTL, func(context.Context) error {
			keyLookup.evictExpired()
			return nil
		}},
	}
	leaderJobs := []job{
		{"stale_agents", cfg.Jobs.StaleSweepEvery, sweepStaleAgents(st, m, cfg.Jobs.StaleAgentAfter)},
		{"audit_retention", cfg.Jobs.AuditSweepEvery, enforceAuditRetention(st, cfg.Jobs.AuditRetention, logger)},
		{"outbox_relay", cfg.Jobs.OutboxPollEvery, relayOutbox(st, publisher, m, cfg.Jobs.OutboxBatch)},
	}

	g, gctx := errgroup.WithContext(ctx)
	listen := func(name string, serve func() error) {
		g.Go(func() error {
			if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("%s listener: %w", name, err)
			}
			return nil
		})
	}
	listen("mtls", mtlsListener.ListenAndServe)
	listen("public", publicServer.ListenAndServe)
	listen("ops", opsServer.ListenAndServe)
	g.Go(func() error { return serverCert.Watch(gctx) })
	g.Go(func() error { return zlCert.Watch(gctx) })
	g.Go(func() error { return keys.Run(gctx) })
	g.Go(func() error { return flags.run(gctx, cfg.Features.RefreshEvery) })
	g.Go(func() error { return dispatcher.Run(gctx) })
	g.Go(func() error { return runJobs(gctx, localJobs, m, logger) })
	g.Go(func() error {
		return runAsLeader(gctx, db, logger, func(ctx context.Context) error {
			lg, lctx := errgroup.WithContext(ctx)
			lg.Go(func() error { return rotationCtrl.Run(lctx) })
			lg.Go(func() error { return keys.Maintain(lctx) })
			lg.Go(func() error { return runJobs(lctx, leaderJobs, m, logger) })
			return lg.Wait()
		})
	})
	ready.Store(true)
	logger.Info("started",
		"mtls_addr", cfg.MTLS.Addr,
		"http_addr", cfg.HTTP.Addr,
		"ops_addr", cfg.Ops.Addr,
		"server_cert_not_after", serverCert.NotAfter(),
	)

	// Wait for SIGTERM or the first component failure.
	<-gctx.Done()
	ready.Store(false)
	if ctx.Err() != nil {
		logger.Info("shutdown requested, draining", "delay", cfg.Shutdown.DrainDelay)
		time.Sleep(cfg.Shutdown.DrainDelay)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown.Grace)
	defer cancel()
	errs := []error{
		mtlsListener.Shutdown(shutdownCtx),
		publicServer.Shutdown(shutdownCtx),
		opsServer.Shutdown(shutdownCtx),
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		errs = append(errs, err)
	}
	if err := usage.flush(shutdownCtx, st); err != nil {
		errs = append(errs, fmt.Errorf("final usage flush: %w", err))
	}
	if err := nc.Drain(); err != nil {
		errs = append(errs, fmt.Errorf("nats drain: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", serviceName, err)
		os.Exit(1)
	}
}
