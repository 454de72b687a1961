package gateway

import (
	"crypto/tls"
	"crypto/x509"
)

// Settings come from the operator's config file.
type Settings struct {
	ClientAuth    string
	TrustedCAFile string
	PerSNI        bool
}

// fromSettings maps the configured client-auth mode onto a tls.Config.
func fromSettings(c Settings, cfg *tls.Config) {
	switch c.ClientAuth {
	case "RequireAndVerifyClientCert":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	case "VerifyClientCertIfGiven":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	default:
		cfg.ClientAuth = tls.NoClientCert
	}
}

// withTrustedCA requires client certificates once a CA file is configured.
func withTrustedCA(c Settings, pool *x509.CertPool) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	cfg.ClientAuth = tls.NoClientCert
	if c.TrustedCAFile != "" {
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg
}

// perSNI picks a configuration for each client hello.
func perSNI(base *tls.Config) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			return base, nil
		},
	}
}
