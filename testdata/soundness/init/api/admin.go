package api

import (
	"errors"
	"net/http"
)

// DeleteProvisioner removes a provisioner; only an authorised admin may.
func (h *Handler) DeleteProvisioner(w http.ResponseWriter, r *http.Request) {
	adm, err := h.auth.AuthorizeAdminToken(r, bearer(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if adm.Subject == "" {
		writeError(w, r, errors.New("admin token has no subject"))
		return
	}
	h.store.Delete(r.Context(), adm.Subject, r.PathValue("name"))
	w.WriteHeader(http.StatusNoContent)
}
