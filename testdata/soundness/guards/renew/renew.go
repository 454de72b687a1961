package renew

import "example.com/ca/errs"

// Renew issues a new certificate for a valid one, unless it was revoked.
func (a *Authority) Renew(old *Certificate) (*Certificate, error) {
	isRevoked, err := a.db.IsRevoked(old.Serial)
	if err != nil {
		return nil, errs.Internal("renew: checking revocation: %v", err)
	}
	if isRevoked {
		return nil, errs.Unauthorized("renew: certificate %s was revoked", old.Serial)
	}
	if old.Expired(a.now()) || old.Issuer != a.issuer {
		return nil, errs.Unauthorized("renew: certificate cannot be renewed")
	}
	return a.sign(old.Template())
}

// Rekey issues a certificate for a new key; a revoked certificate may be rekeyed only when
// the authority allows it.
func (a *Authority) Rekey(old *Certificate, key PublicKey) (*Certificate, error) {
	isRevoked, err := a.db.IsRevoked(old.Serial)
	if err != nil {
		return nil, errs.Internal("rekey: checking revocation: %v", err)
	}
	if isRevoked && !a.config.AllowRevokedRekey {
		return nil, errs.Unauthorized("rekey: certificate %s was revoked", old.Serial)
	}
	return a.sign(old.TemplateFor(key))
}
