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
		if len(args) == 0 {
			conf, err := parseAutomatic(c, cfg)
			if err != nil {
				return err
			}
			cfg.TLS = conf
			continue
		}
		if err := parseManual(c, cfg, args); err != nil {
			return err
		}
	}
	return nil
}

func parseManual(c *Reader, cfg *Config, args []string) error {
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
	return nil
}

func parseAutomatic(c *Reader, cfg *Config) (*tls.Config, error) {
	opts, err := defaultOptions(cfg.Root)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool)
	for c.NextBlock() {
		name := c.Val()
		args := c.Args()
		if seen[name] {
			return nil, c.Errf("option %q given twice", name)
		}
		seen[name] = true
		switch name {
		case "domains":
			if len(args) == 0 {
				return nil, c.ArgErr()
			}
			opts.domains = args
		case "email":
			if len(args) != 1 {
				return nil, c.ArgErr()
			}
			opts.email = args[0]
		case "storage":
			if len(args) != 1 {
				return nil, c.ArgErr()
			}
			opts.storage, err = absolute(cfg.Root, args[0])
			if err != nil {
				return nil, err
			}
		case "roots":
			if len(args) != 1 {
				return nil, c.ArgErr()
			}
			opts.roots, err = absolute(cfg.Root, args[0])
			if err != nil {
				return nil, err
			}
		case "resolver":
			if len(args) != 1 {
				return nil, c.ArgErr()
			}
			opts.resolver = args[0]
		default:
			return nil, c.Errf("unknown automatic option %q", name)
		}
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return opts.config()
}

func absolute(root, path string) (string, error) {
	if !filepath.IsAbs(path) && root != "" {
		path = filepath.Join(root, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", errors.New("tls: " + err.Error())
	}
	return abs, nil
}
