package api

import "net/http"

// Router is the part of a mux the admin API needs.
type Router interface {
	MethodFunc(method, pattern string, h http.HandlerFunc)
}

// Route mounts the admin API: every route needs an admin token.
func Route(r Router) {
	// Provisioners.
	r.MethodFunc("GET", "/provisioners", authnz(GetProvisioners))
	r.MethodFunc("GET", "/provisioners/{name}", authnz(GetProvisioner))
	r.MethodFunc("POST", "/provisioners", authnz(CreateProvisioner))
	r.MethodFunc("PUT", "/provisioners/{name}", authnz(UpdateProvisioner))
	r.MethodFunc("DELETE", "/provisioners/{name}", DeleteProvisioner)

	// Admins.
	r.MethodFunc("GET", "/admins", authnz(GetAdmins))
	r.MethodFunc("POST", "/admins", authnz(CreateAdmin))
	r.MethodFunc("DELETE", "/admins/{id}", authnz(DeleteAdmin))
}
