// Package certreload serves the TLS certificate that cert-manager keeps
// renewed in a mounted Secret, so that a renewal takes effect without a
// restart.
//
// Kubernetes updates a Secret volume by writing the new files into a fresh
// timestamped directory and swapping the "..data" symlink, so the files
// themselves are never modified in place. The reloader watches the directory
// and reloads on any change, keeping the last good certificate if the new one
// does not load.
package certreload

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// debounce collapses the burst of events of one symlink swap.
const debounce = 250 * time.Millisecond

// Reloader holds the current certificate and key pair.
type Reloader struct {
	certFile string
	keyFile  string
	cert     atomic.Pointer[tls.Certificate]
	log      *slog.Logger
}

// New loads the key pair once and fails if it cannot: a server without a
// certificate must not start.
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if filepath.Dir(certFile) != filepath.Dir(keyFile) {
		return nil, errors.New("certreload: certificate and key must live in the same Secret volume")
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log.With("component", "certreload", "cert", certFile)}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate is meant for tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// NotAfter returns the expiry of the certificate being served.
func (r *Reloader) NotAfter() time.Time {
	return r.cert.Load().Leaf.NotAfter
}

// Watch reloads the pair whenever the Secret volume changes, until ctx ends.
func (r *Reloader) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("certreload: %w", err)
	}
	defer w.Close()
	if err := w.Add(filepath.Dir(r.certFile)); err != nil {
		return fmt.Errorf("certreload: watch %s: %w", filepath.Dir(r.certFile), err)
	}

	var pending <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("certreload: watcher closed")
			}
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write) || ev.Has(fsnotify.Remove) {
				pending = time.After(debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("certreload: watcher closed")
			}
			r.log.Warn("watch error", "err", err)
		case <-pending:
			pending = nil
			if err := r.reload(); err != nil {
				r.log.Error("keeping previous certificate", "err", err, "not_after", r.NotAfter())
			}
		}
	}
}

func (r *Reloader) reload() error {
	pair, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("certreload: load key pair: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Errorf("certreload: parse leaf: %w", err)
	}
	if time.Now().After(leaf.NotAfter) {
		return fmt.Errorf("certreload: certificate expired at %s", leaf.NotAfter.Format(time.RFC3339))
	}
	pair.Leaf = leaf
	if old := r.cert.Swap(&pair); old != nil && old.Leaf.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		r.log.Info("serving renewed certificate", "serial", leaf.SerialNumber.Text(16), "not_after", leaf.NotAfter)
	}
	return nil
}
