package session

import (
	"context"
	"errors"
	"net/http"

	"example.com/shop/render"
)

var (
	errNotOwner     = errors.New("session: not the owner")
	errNoToken      = errors.New("session: no bearer token")
	errNotConfirmed = errors.New("session: not confirmed")
)

// Revoke ends a session; only its owner may.
func Revoke(w http.ResponseWriter, r *http.Request) {
	sess, err := lookup(r.Context(), r.URL.Query().Get("id"))
	switch {
	case err != nil:
		render.Error(w, r, http.StatusUnauthorized, err)
		return
	case sess.Owner != userOf(r):
		render.Error(w, r, http.StatusForbidden, errNotOwner)
		return
	}
	if err := store.Delete(r.Context(), sess.ID); err != nil {
		render.Error(w, r, http.StatusInternalServerError, err)
		return
	}
	render.NoContent(w, r)
}

// Token returns the caller's bearer token, and fails when the request carries none.
func Token(r *http.Request) (string, error) {
	tok, ok := bearer(r)
	switch {
	case !ok:
		return "", errNoToken
	}
	return tok, nil
}

// Wait blocks until the session is confirmed, and gives up when the request is cancelled.
func Wait(ctx context.Context, confirmed <-chan bool) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case ok := <-confirmed:
		if !ok {
			return errNotConfirmed
		}
	}
	return nil
}
