package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

// Event is a domain event. It is written to the outbox in the transaction of
// the change that caused it, relayed to JetStream by the outbox job, and
// delivered to the tenant's webhooks.
type Event struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	TenantID string          `json:"tenant_id"`
	At       time.Time       `json:"at"`
	Data     json.RawMessage `json:"data"`
}

// newEvent builds an event. data is always one of this package's own types,
// so a marshalling failure is a programming error.
func newEvent(typ, tenantID string, data any) Event {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(fmt.Sprintf("event %s: marshal %T: %v", typ, data, err))
	}
	return Event{ID: newID("ev"), Type: typ, TenantID: tenantID, At: time.Now().UTC(), Data: raw}
}

func (e Event) subject() string {
	return "zen.events." + e.TenantID + "." + e.Type
}

// connectNATS connects with unlimited reconnects: a NATS restart must not
// take the back end down, the outbox holds events until it is back.
func connectNATS(cfg NATSConfig, instanceID string, logger *slog.Logger) (*nats.Conn, nats.JetStreamContext, error) {
	opts := []nats.Option{
		nats.Name(serviceName + "/" + instanceID),
		nats.Timeout(cfg.ConnectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(2 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("nats: %w", err)
	}
	js, err := nc.JetStream()
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("nats: jetstream: %w", err)
	}
	if err := ensureStream(js, cfg); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// ensureStream creates the event stream, or updates it to the configured
// retention and replicas.
func ensureStream(js nats.JetStreamContext, cfg NATSConfig) error {
	want := &nats.StreamConfig{
		Name:       cfg.Stream,
		Subjects:   []string{"zen.events.>"},
		Retention:  nats.LimitsPolicy,
		Storage:    nats.FileStorage,
		MaxAge:     cfg.MaxAge,
		Replicas:   cfg.Replicas,
		Duplicates: 10 * time.Minute,
	}
	_, err := js.StreamInfo(cfg.Stream)
	switch {
	case errors.Is(err, nats.ErrStreamNotFound):
		_, err = js.AddStream(want)
	case err == nil:
		_, err = js.UpdateStream(want)
	}
	if err != nil {
		return fmt.Errorf("nats: stream %s: %w", cfg.Stream, err)
	}
	return nil
}

// eventPublisher publishes events to JetStream. The event ID is the message
// ID, so a relay that publishes twice after a crash is deduplicated.
type eventPublisher struct {
	js nats.JetStreamContext
}

func (p *eventPublisher) Publish(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = p.js.Publish(ev.subject(), body, nats.MsgId(ev.ID), nats.Context(ctx))
	return err
}

// webhookEvents are the event types a customer may subscribe a webhook to.
var webhookEvents = []string{
	"agent.stale",
	"agent.recovered",
	"adapter.drift",
	"adapter.desired_changed",
	"allowlist.changed",
	"cluster.created",
	"cluster.deleted",
}

// webhookDispatcher delivers events to customer webhooks. JetStream keeps
// track of attempts; a failed delivery is retried with a growing delay until
// MaxAttempts, then dropped and counted.
type webhookDispatcher struct {
	js      nats.JetStreamContext
	stream  string
	store   *store
	client  *http.Client
	cfg     WebhookConfig
	metrics *metrics
	logger  *slog.Logger
	sem     chan struct{}
}

func newWebhookDispatcher(js nats.JetStreamContext, stream string, st *store, cfg WebhookConfig, m *metrics, logger *slog.Logger) *webhookDispatcher {
	return &webhookDispatcher{
		js:      js,
		stream:  stream,
		store:   st,
		client:  newWebhookClient(cfg.Timeout, cfg.AllowHTTP),
		cfg:     cfg,
		metrics: m,
		logger:  logger.With("component", "webhooks"),
		sem:     make(chan struct{}, cfg.Workers),
	}
}

func (d *webhookDispatcher) Run(ctx context.Context) error {
	sub, err := d.js.QueueSubscribe("zen.events.>", "webhooks", func(m *nats.Msg) {
		d.sem <- struct{}{}
		go func() {
			defer func() { <-d.sem }()
			d.handle(ctx, m)
		}()
	},
		nats.BindStream(d.stream),
		nats.Durable("webhooks"),
		nats.ManualAck(),
		nats.AckWait(d.cfg.Timeout*3),
		nats.MaxDeliver(d.cfg.MaxAttempts),
		nats.MaxAckPending(d.cfg.Workers*4),
	)
	if err != nil {
		return fmt.Errorf("webhooks: subscribe: %w", err)
	}
	<-ctx.Done()
	return sub.Drain()
}

func (d *webhookDispatcher) handle(ctx context.Context, m *nats.Msg) {
	var ev Event
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		d.logger.Error("dropping malformed event", "subject", m.Subject, "err", err)
		_ = m.Term()
		return
	}
	hooks, err := d.store.WebhooksFor(ctx, ev.TenantID, ev.Type)
	if err != nil {
		d.logger.Warn("webhook lookup failed, will retry", "event", ev.ID, "err", err)
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	var failed int
	for _, w := range hooks {
		start := time.Now()
		err := d.deliver(ctx, w, ev, m.Data)
		d.metrics.webhookTime.Observe(time.Since(start).Seconds())
		if err != nil {
			failed++
			d.metrics.webhookSent.WithLabelValues("error").Inc()
			d.logger.Info("webhook delivery failed", "webhook", w.ID, "event", ev.ID, "err", err)
			continue
		}
		d.metrics.webhookSent.WithLabelValues("ok").Inc()
	}
	if failed == 0 {
		_ = m.Ack()
		return
	}
	// The whole event is redelivered, including to the webhooks that already
	// got it; receivers deduplicate on the event ID, as documented.
	attempt := uint64(1)
	if md, err := m.Metadata(); err == nil {
		attempt = md.NumDelivered
	}
	if int(attempt) >= d.cfg.MaxAttempts {
		d.metrics.webhookSent.WithLabelValues("dropped").Inc()
		d.logger.Warn("giving up on webhook event", "event", ev.ID, "attempts", attempt)
		_ = m.Term()
		return
	}
	_ = m.NakWithDelay(webhookBackoff(attempt))
}

func (d *webhookDispatcher) deliver(ctx context.Context, w Webhook, ev Event, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ZenMesh-Webhooks/1")
	req.Header.Set("Zen-Event-Id", ev.ID)
	req.Header.Set("Zen-Event-Type", ev.Type)
	req.Header.Set("Zen-Signature", signWebhook(w.Secret, ts, body))
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// signWebhook returns the Zen-Signature header: the timestamp and the hex
// HMAC-SHA256 of "timestamp.body" under the webhook secret.
func signWebhook(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// webhookBackoff is 10s, 20s, 40s, ... capped at one hour.
func webhookBackoff(attempt uint64) time.Duration {
	if attempt > 9 {
		return time.Hour
	}
	return min(10*time.Second<<(attempt-1), time.Hour)
}

// newWebhookClient returns the client for customer URLs. Customer URLs are
// untrusted: the client refuses to connect to loopback, private and
// link-local addresses (checked after DNS resolution, so a hostname that
// resolves inside our network is refused too) and does not follow redirects.
func newWebhookClient(timeout time.Duration, allowHTTP bool) *http.Client {
	dialer := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			if allowHTTP {
				// Development only: receivers run on the developer's machine.
				return nil
			}
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
				return fmt.Errorf("webhook destination %s is not a public address", host)
			}
			return nil
		},
	}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// validWebhookURL checks a customer-supplied webhook URL.
func validWebhookURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch {
	case u.Scheme != "https" && !(allowHTTP && u.Scheme == "http"):
		return errors.New("webhook URL must use https")
	case u.Host == "" || u.User != nil:
		return errors.New("webhook URL must have a host and no user info")
	case u.Fragment != "":
		return errors.New("webhook URL must not have a fragment")
	}
	return nil
}
