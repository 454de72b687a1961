package auth

import "errors"

var errDenied = errors.New("denied")

func Check(token string, allowed map[string]bool) error {
	if !allowed[token] {
		return errDenied
	}
	return nil
}
