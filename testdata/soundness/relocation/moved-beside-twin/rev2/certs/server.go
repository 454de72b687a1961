package certs

import (
	"crypto/tls"
	"fmt"
)

// ServerConfig loads the server's key pair and the CA roots it trusts.
func ServerConfig(certPath, keyPath, caPath string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("load key pair: %w", err)
	}

	roots, err := loadRoots(caPath)
	if err != nil {
		return nil, err
	}

	// minVersion raises the protocol version to what both sides accept.
	cfg := &tls.Config{RootCAs: roots}
	cfg.Certificates = []tls.Certificate{cert}
	minVersion(cfg)

	return cfg, nil
}
