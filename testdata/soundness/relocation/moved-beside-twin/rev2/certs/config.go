package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// ClientConfig trusts the CA roots at caPath.
func ClientConfig(caPath string) (*tls.Config, error) {
	roots, err := loadRoots(caPath)
	if err != nil {
		return nil, err
	}

	// minVersion raises the protocol version to what both sides accept.
	cfg := &tls.Config{RootCAs: roots}
	minVersion(cfg)

	return cfg, nil
}

// loadRoots reads the PEM bundle at caPath into a pool; the system pool when caPath is empty.
func loadRoots(caPath string) (*x509.CertPool, error) {
	if caPath == "" {
		return x509.SystemCertPool()
	}
	pem, err := os.ReadFile(caPath)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle %s: %w", caPath, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificates in %s", caPath)
	}
	return pool, nil
}

// minVersion is the oldest protocol version either side accepts.
func minVersion(cfg *tls.Config) {
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	cfg.CipherSuites = nil
	cfg.PreferServerCipherSuites = true
	cfg.SessionTicketsDisabled = false
	cfg.Renegotiation = tls.RenegotiateNever
}

// describe names a configuration for logs.
func describe(cfg *tls.Config) string {
	if cfg == nil {
		return "plaintext"
	}
	if len(cfg.Certificates) == 0 {
		return "client only"
	}
	return fmt.Sprintf("%d certificates, min version %x", len(cfg.Certificates), cfg.MinVersion)
}
