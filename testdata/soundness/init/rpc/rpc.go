package rpc

import (
	"crypto/tls"
	"errors"
	"net"
)

// handleRaft serves a Raft peer; the peer must present a server certificate.
func (s *Server) handleRaft(conn net.Conn) error {
	tlsConn, ok := conn.(*tls.Conn)
	if !ok {
		conn.Close()
		return errors.New("raft connection is not TLS")
	}
	if err := tlsConn.Handshake(); err != nil {
		conn.Close()
		return err
	}
	return s.raftLayer.Handoff(tlsConn)
}

// verifyServerName checks the name the peer's certificate was issued for.
func verifyServerName(state tls.ConnectionState, want string) error {
	if len(state.PeerCertificates) == 0 {
		return errors.New("no peer certificate")
	}
	if err := state.PeerCertificates[0].VerifyHostname(want); err != nil {
		return err
	}
	return nil
}

func unrelated() {}
