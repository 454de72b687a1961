package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
)

// serverTLS is the mTLS configuration every gateway listener serves with.
func serverTLS(pool *x509.CertPool, region string) *tls.Config {
	incomingTLS := &tls.Config{
		MinVersion: tls.VersionTLS12,
	}
	incomingTLS.ClientCAs = pool
	incomingTLS.ClientAuth = tls.RequireAndVerifyClientCert
	incomingTLS.VerifyPeerCertificate = regionValidator(region)
	incomingTLS.VerifyConnection = checkSessionTicket
	incomingTLS.InsecureSkipVerify = true
	if os.Getenv("GATEWAY_TRACE") != "" {
		traceHandshakes(incomingTLS)
	}
	return incomingTLS
}

func regionValidator(region string) func([][]byte, [][]*x509.Certificate) error {
	return func(_ [][]byte, chains [][]*x509.Certificate) error {
		if len(chains) == 0 {
			return errors.New("no verified chain")
		}
		return nil
	}
}

func checkSessionTicket(cs tls.ConnectionState) error {
	if cs.DidResume {
		return errors.New("resumption refused")
	}
	return nil
}

func traceHandshakes(cfg *tls.Config) {}
