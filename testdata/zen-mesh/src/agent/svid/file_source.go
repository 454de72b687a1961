// Package svid keeps the agent's X.509 SVID current.
//
// cert-manager's csi-driver-spiffe writes the SVID, its key and the trust
// bundle into the agent pod and renews them well before expiry. FileSource
// loads those files, polls them for a renewal, and hands the current
// certificate to TLS through GetClientCertificate, so a renewed SVID is used
// from the next handshake on. The agent never issues or renews SVIDs itself.
package svid

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultDir is where the CSI volume is mounted in the agent pod.
const DefaultDir = "/var/run/secrets/spiffe.io"

// File names written by csi-driver-spiffe.
const (
	CertFile   = "tls.crt"
	KeyFile    = "tls.key"
	BundleFile = "ca.crt"
)

// SVID is one loaded X.509 SVID.
type SVID struct {
	SPIFFEID    string
	Certificate *tls.Certificate
	Bundle      *x509.CertPool
	NotAfter    time.Time
	digest      [sha256.Size]byte
}

// FileSource serves the SVID found in a directory.
type FileSource struct {
	dir      string
	interval time.Duration
	current  atomic.Pointer[SVID]
	log      *slog.Logger
	onRotate func(*SVID)
}

// NewFileSource loads the SVID in dir. It fails when the files are missing or
// do not hold a valid SVID, which callers treat as "no SPIFFE identity".
func NewFileSource(dir string, interval time.Duration, log *slog.Logger) (*FileSource, error) {
	s := &FileSource{dir: dir, interval: interval, log: log.With("component", "svid", "dir", dir)}
	sv, err := s.load()
	if err != nil {
		return nil, err
	}
	s.current.Store(sv)
	return s, nil
}

// OnRotate registers fn to be called after a renewed SVID is loaded.
func (s *FileSource) OnRotate(fn func(*SVID)) { s.onRotate = fn }

// Current returns the SVID in use.
func (s *FileSource) Current() *SVID { return s.current.Load() }

// GetClientCertificate is meant for tls.Config.GetClientCertificate.
func (s *FileSource) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	sv := s.current.Load()
	if time.Now().After(sv.NotAfter) {
		return nil, fmt.Errorf("svid: %s expired at %s and was not renewed", sv.SPIFFEID, sv.NotAfter.Format(time.RFC3339))
	}
	return sv.Certificate, nil
}

// Run polls the files and swaps in a renewed SVID until ctx ends.
func (s *FileSource) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		next, err := s.load()
		if err != nil {
			// A half-written volume during a renewal looks like this too;
			// keep the current SVID and try again on the next tick.
			s.log.Warn("could not load SVID, keeping current one", "err", err)
			continue
		}
		cur := s.current.Load()
		if next.digest == cur.digest {
			if time.Until(cur.NotAfter) < 2*s.interval {
				s.log.Error("SVID close to expiry and not renewed", "spiffe_id", cur.SPIFFEID, "not_after", cur.NotAfter)
			}
			continue
		}
		if next.SPIFFEID != cur.SPIFFEID {
			s.log.Error("renewed SVID names a different workload, ignoring it", "have", cur.SPIFFEID, "got", next.SPIFFEID)
			continue
		}
		s.current.Store(next)
		s.log.Info("loaded renewed SVID", "spiffe_id", next.SPIFFEID, "not_after", next.NotAfter)
		if s.onRotate != nil {
			s.onRotate(next)
		}
	}
}

func (s *FileSource) load() (*SVID, error) {
	certPEM, err := os.ReadFile(filepath.Join(s.dir, CertFile))
	if err != nil {
		return nil, fmt.Errorf("svid: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(s.dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("svid: %w", err)
	}
	bundlePEM, err := os.ReadFile(filepath.Join(s.dir, BundleFile))
	if err != nil {
		return nil, fmt.Errorf("svid: %w", err)
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("svid: key pair: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("svid: parse leaf: %w", err)
	}
	if len(leaf.URIs) != 1 || !strings.HasPrefix(leaf.URIs[0].String(), "spiffe://") {
		return nil, errors.New("svid: leaf certificate does not carry exactly one spiffe:// URI SAN")
	}
	bundle := x509.NewCertPool()
	if !bundle.AppendCertsFromPEM(bundlePEM) {
		return nil, errors.New("svid: trust bundle holds no certificates")
	}
	pair.Leaf = leaf

	return &SVID{
		SPIFFEID:    leaf.URIs[0].String(),
		Certificate: &pair,
		Bundle:      bundle,
		NotAfter:    leaf.NotAfter,
		digest:      sha256.Sum256(bytes.Join([][]byte{certPEM, keyPEM, bundlePEM}, []byte{0})),
	}, nil
}
