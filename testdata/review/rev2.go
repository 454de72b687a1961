package auth

import "errors"

var errDenied = errors.New("denied")

func Check(token string, allowed map[string]bool) error { // checks the token
	if !allowed[token] { /* refuse unknown tokens */
		return   errDenied // always
	}
	return nil;
}
