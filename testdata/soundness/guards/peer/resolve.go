package peer

import (
	"fmt"
	"net"
)

const defaultPort = "7946"

// Resolve maps an address to the name of the registered peer at its host, and its port.
func Resolve(addr string) (string, string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("peer: bad address %q: %w", addr, err)
	}
	name, err := lookup(host)
	if port == "" {
		return name, defaultPort, err
	}
	return name, port, err
}
