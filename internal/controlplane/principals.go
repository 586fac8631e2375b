package controlplane

import (
	"errors"
	"net/http"
	"strings"

	apiv1 "maas/api/v1"
	"maas/internal/store"
)

func principalBody(p store.Principal) apiv1.Principal {
	return apiv1.Principal{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt}
}

func (cp *ControlPlane) listPrincipals(w http.ResponseWriter, r *http.Request, c *caller) error {
	ps, err := cp.st.ListPrincipals(r.Context())
	if err != nil {
		return err
	}
	out := []apiv1.Principal{}
	for _, p := range ps {
		if p.ID == c.ID || c.can(actRead, "/") {
			out = append(out, principalBody(p))
		}
	}
	return writeJSON(w, http.StatusOK, apiv1.List[apiv1.Principal]{Value: out})
}

func (cp *ControlPlane) getPrincipal(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	if id != c.ID && !c.can(actRead, "/") {
		return errorf(http.StatusNotFound, "NotFound", "principal %q not found", id)
	}
	p, err := cp.st.GetPrincipal(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "NotFound", "principal %q not found", id)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, principalBody(p))
}

func (cp *ControlPlane) createPrincipal(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := c.require(actPrincipalWrite, "/"); err != nil {
		return err
	}
	var body apiv1.Principal
	if err := decode(r, &body, true); err != nil {
		return err
	}
	body.Name = strings.TrimSpace(body.Name)
	if body.Name == "" || len(body.Name) > 128 {
		return badRequest("field \"name\" is required (1 to 128 characters)")
	}
	if body.ID != "" || body.Token != "" {
		return badRequest("fields \"id\" and \"token\" are assigned by the server")
	}
	token, err := newToken()
	if err != nil {
		return err
	}
	p, err := cp.newPrincipal(r.Context(), body.Name, token)
	if err != nil {
		return err
	}
	out := principalBody(p)
	out.Token = token
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, out)
}

func (cp *ControlPlane) deletePrincipal(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := c.require(actPrincipalWrite, "/"); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == c.ID {
		return errorf(http.StatusConflict, "Conflict", "a principal cannot delete itself")
	}
	if err := cp.st.DeletePrincipal(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(http.StatusNotFound, "NotFound", "principal %q not found", id)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
