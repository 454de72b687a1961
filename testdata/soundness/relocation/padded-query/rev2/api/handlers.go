package api

import "net/http"

func authnz(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next(w, r)
	}
}

func GetProvisioners(w http.ResponseWriter, r *http.Request)   {}
func GetProvisioner(w http.ResponseWriter, r *http.Request)    {}
func CreateProvisioner(w http.ResponseWriter, r *http.Request) {}
func UpdateProvisioner(w http.ResponseWriter, r *http.Request) {}
func DeleteProvisioner(w http.ResponseWriter, r *http.Request) {}
func GetAdmins(w http.ResponseWriter, r *http.Request)         {}
func CreateAdmin(w http.ResponseWriter, r *http.Request)       {}
func DeleteAdmin(w http.ResponseWriter, r *http.Request)       {}
