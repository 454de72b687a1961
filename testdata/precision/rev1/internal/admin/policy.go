package admin

import (
	"crypto/tls"
	"testing"
)

type conn struct {
	cc     interface{ NewStream(ctx, desc any) (any, error) }
	ctx    any
	desc   any
	stream any
}

type server struct {
	*testing.T
	cfg *tls.Config
}

// serverTLS is the policy for the admin listener.
func serverTLS(certs []tls.Certificate, echKeys []tls.EncryptedClientHelloKey) *tls.Config {
	cfg := &tls.Config{
		Certificates: certs,
		MinVersion:   tls.VersionTLS12,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if len(echKeys) > 0 {
		cfg.EncryptedClientHelloKeys = echKeys
	}
	if cfg.EncryptedClientHelloKeys != nil {
		cfg.MinVersion = tls.VersionTLS13
	}
	return cfg
}

func (s *server) start(listen func() error) {
	if err := listen(); err != nil {
		s.Fatalf("listen: %v", err)
		return
	}
	s.Logf("listening")
}

func (c *conn) open() error {
	stream, err := c.cc.NewStream(c.ctx, c.desc)
	if err != nil {
		return err
	}
	c.stream = stream
	return nil
}
