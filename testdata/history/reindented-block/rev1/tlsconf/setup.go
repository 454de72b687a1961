package tlsconf

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
)

// Parse reads the tls blocks of a server's configuration.
func Parse(c *Reader, cfg *Config) error {
	if cfg.TLS != nil {
		return errors.New("tls: already configured")
	}
	for c.Next() {
		args := c.Args()
		if len(args) < 2 || len(args) > 3 {
			return c.ArgErr()
		}
		auth := tls.NoClientCert
		var keyLog string
		for c.NextBlock() {
			switch c.Val() {
			case "client_auth":
				modes := c.Args()
				if len(modes) != 1 {
					return c.ArgErr()
				}
				switch modes[0] {
				case "none":
					auth = tls.NoClientCert
				case "request":
					auth = tls.RequestClientCert
				case "verify":
					auth = tls.RequireAndVerifyClientCert
				default:
					return c.Errf("unknown client_auth mode %q", modes[0])
				}
			case "keylog":
				files := c.Args()
				if len(files) != 1 {
					return c.ArgErr()
				}
				keyLog = files[0]
			default:
				return c.Errf("unknown option %q", c.Val())
			}
		}
		conf, err := LoadPair(args...)
		if err != nil {
			return err
		}
		conf.ClientAuth = auth
		conf.ClientCAs = conf.RootCAs

		if len(keyLog) > 0 {
			abs, err := filepath.Abs(keyLog)
			if err != nil {
				return c.Errf("key log %q: %v", keyLog, err)
			}
			f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0600)
			if err != nil {
				return c.Errf("key log %q: %v", abs, err)
			}
			c.OnShutdown(f.Close)
			conf.KeyLogWriter = f
		}

		cfg.TLS = conf
	}
	return nil
}
