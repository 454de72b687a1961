package agent

import (
	"errors"
	"log"
)

type config struct {
	requireMTLS bool
	caFile      string
}

func checkConfig(cfg config) error {
	if cfg.requireMTLS && cfg.caFile == "" {
		return errors.New("mtls required but no CA configured")
	}
	return nil
}

func logStartup(cfg config) {
	log.Printf("starting, mtls=%v", cfg.requireMTLS)
}
