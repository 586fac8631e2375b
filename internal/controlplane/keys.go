package controlplane

import (
	"net/http"
	"strings"

	apiv1 "maas/api/v1"
	"maas/internal/store"
)

// setKey seals key (a fresh random one when "") into slot 0 (primary) or
// 1 (secondary) of e.
func (cp *ControlPlane) setKey(e *store.Endpoint, slot int, key string) error {
	if key == "" {
		var err error
		if key, err = randomString(KeyLength); err != nil {
			return err
		}
	}
	sealed, err := cp.seal(key, keyAAD(e.ID, slot))
	if err != nil {
		return err
	}
	if slot == 0 {
		e.PrimaryKey = sealed
	} else {
		e.SecondaryKey = sealed
	}
	return nil
}

func (cp *ControlPlane) keysOf(e store.Endpoint) (apiv1.EndpointKeys, error) {
	k1, err := cp.open(e.PrimaryKey, keyAAD(e.ID, 0))
	if err != nil {
		return apiv1.EndpointKeys{}, err
	}
	k2, err := cp.open(e.SecondaryKey, keyAAD(e.ID, 1))
	if err != nil {
		return apiv1.EndpointKeys{}, err
	}
	return apiv1.EndpointKeys{PrimaryKey: k1, SecondaryKey: k2}, nil
}

func (cp *ControlPlane) listKeys(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, e, err := cp.endpointFor(r, c)
	if err != nil {
		return err
	}
	if err := c.require(actEndpointKeys, projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	keys, err := cp.keysOf(e)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, keys)
}

func (cp *ControlPlane) regenerateKeys(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, e, err := cp.endpointFor(r, c)
	if err != nil {
		return err
	}
	scope := projectScope(p.Hub, p.Name)
	if err := c.require(actEndpointWrite, scope); err != nil {
		return err
	}
	if err := c.require(actEndpointKeys, scope); err != nil {
		return err
	}
	var body apiv1.RegenerateKeysRequest
	if err := decode(r, &body, true); err != nil {
		return err
	}
	var slot int
	switch strings.ToLower(body.KeyType) {
	case "primary":
		slot = 0
	case "secondary":
		slot = 1
	default:
		return badRequest("field \"keyType\" must be \"Primary\" or \"Secondary\", not %q", body.KeyType)
	}
	if body.KeyValue != "" && !validKey(body.KeyValue) {
		return badRequest("field \"keyValue\" must be %d letters and digits", KeyLength)
	}
	if err := cp.setKey(&e, slot, body.KeyValue); err != nil {
		return err
	}
	e.ModifiedAt, e.ModifiedBy = cp.now(), c.Name
	if err := cp.st.UpdateEndpoint(r.Context(), e); err != nil {
		return err
	}
	if err := cp.publishAfter(r.Context()); err != nil {
		return err
	}
	keys, err := cp.keysOf(e)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, keys)
}

// maxQuota bounds a quota override (per minute).
const maxQuota = 1_000_000_000_000

func (cp *ControlPlane) getQuota(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, e, err := cp.endpointFor(r, c)
	if err != nil {
		return err
	}
	if err := c.require(actRead, projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiv1.Quota{TokensPerMinute: e.TokensPerMinute, RequestsPerMinute: e.RequestsPerMinute})
}

func (cp *ControlPlane) putQuota(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, e, err := cp.endpointFor(r, c)
	if err != nil {
		return err
	}
	if err := c.require(actQuotaWrite, projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	var q apiv1.Quota
	if err := decode(r, &q, true); err != nil {
		return err
	}
	if q.TokensPerMinute <= 0 || q.TokensPerMinute > maxQuota {
		return badRequest("field \"tokensPerMinute\" must be between 1 and %d", int64(maxQuota))
	}
	if q.RequestsPerMinute <= 0 || q.RequestsPerMinute > maxQuota {
		return badRequest("field \"requestsPerMinute\" must be between 1 and %d", int64(maxQuota))
	}
	e.TokensPerMinute, e.RequestsPerMinute = q.TokensPerMinute, q.RequestsPerMinute
	e.ModifiedAt, e.ModifiedBy = cp.now(), c.Name
	if err := cp.st.UpdateEndpoint(r.Context(), e); err != nil {
		return err
	}
	if err := cp.publishAfter(r.Context()); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, q)
}
