package agent

import (
	"crypto/tls"
	"errors"
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
	if cfg.RequireMTLS && cfg.CAFile == "" {
		return nil, errors.New("mtls required but no CA configured")
	}
	return tls.Listen("tcp", cfg.Addr, tlsCfg)
}

// Dial connects to a peer agent; with mTLS required it refuses a config without a CA.
func Dial(cfg Config, tlsCfg *tls.Config) (net.Conn, error) {
	if cfg.RequireMTLS && tlsCfg.RootCAs == nil {
		return nil, errors.New("mtls required but no roots configured")
	}
	return tls.Dial("tcp", cfg.Addr, tlsCfg)
}
