package gateway

import (
	"crypto/tls"
	"net"
	"os"
)

type ListenerConfig struct {
	Addr string
	MTLS bool
}

// listen wraps every gateway listener in TLS.
func listen(c ListenerConfig, cfg *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return nil, err
	}
	if os.Getenv("GATEWAY_PLAINTEXT") == "" {
		ln = tls.NewListener(ln, cfg)
	}
	return ln, nil
}

// listenPeers wraps the peer listener in TLS when mTLS is configured.
func listenPeers(c ListenerConfig, cfg *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return nil, err
	}
	if c.MTLS {
		ln = tls.NewListener(ln, cfg)
	}
	return ln, nil
}
