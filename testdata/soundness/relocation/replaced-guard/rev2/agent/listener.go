package agent

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
)

// Config says how the agent listens.
type Config struct {
	RequireMTLS bool
	CAFile      string
	Addr        string
}

// Listen opens the agent's listener; with mTLS required it refuses to start without a CA.
func Listen(cfg Config, tlsCfg *tls.Config) (net.Listener, error) {
	return tls.Listen("tcp", cfg.Addr, tlsCfg)
}

// describe says how the agent listens.
func describe(cfg Config) error {
	if cfg.RequireMTLS {
		return fmt.Errorf("listening with mTLS, CA %q", cfg.CAFile)
	}
	return nil
}

// Dial connects to a peer agent; with mTLS required it refuses a config without a CA.
func Dial(cfg Config, tlsCfg *tls.Config) (net.Conn, error) {
	if cfg.RequireMTLS && tlsCfg.RootCAs == nil {
		return nil, errors.New("mtls required but no roots configured")
	}
	return tls.Dial("tcp", cfg.Addr, tlsCfg)
}
