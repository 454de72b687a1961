package agent

import (
	"log"
)

type config struct {
	requireMTLS bool
	caFile      string
}

func checkConfig(cfg config) error {
	if cfg.requireMTLS && cfg.caFile == "" {
		log.Printf("mtls required but no CA configured; continuing")
	}
	return nil
}

func logStartup(cfg config) {
	log.Printf("starting, mtls=%v", cfg.requireMTLS)
}
