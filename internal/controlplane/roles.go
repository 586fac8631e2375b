package controlplane

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"

	apiv1 "maas/api/v1"
	"maas/internal/store"
)

var assignmentIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func assignmentBody(a store.RoleAssignment) apiv1.RoleAssignment {
	return apiv1.RoleAssignment{ID: a.ID, PrincipalID: a.PrincipalID, RoleDefinitionName: a.Role, Scope: a.Scope, CreatedAt: a.CreatedAt}
}

// checkScope validates a scope and that its hub and project exist.
func (cp *ControlPlane) checkScope(ctx context.Context, scope string) error {
	if scope == "/" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(scope, "/"), "/")
	if !strings.HasPrefix(scope, "/") || !(len(parts) == 2 && parts[0] == "hubs" || len(parts) == 4 && parts[0] == "hubs" && parts[2] == "projects") {
		return badRequest("field \"scope\" must be \"/\", \"/hubs/{hub}\" or \"/hubs/{hub}/projects/{project}\", not %q", scope)
	}
	if _, err := cp.st.GetHub(ctx, parts[1]); errors.Is(err, store.ErrNotFound) {
		return badRequest("scope %q: hub %q does not exist", scope, parts[1])
	} else if err != nil {
		return err
	}
	if len(parts) == 4 {
		p, err := cp.st.GetProject(ctx, parts[3])
		if errors.Is(err, store.ErrNotFound) || (err == nil && p.Hub != parts[1]) {
			return badRequest("scope %q: project %q does not exist in hub %q", scope, parts[3], parts[1])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (cp *ControlPlane) listRoleAssignments(w http.ResponseWriter, r *http.Request, c *caller) error {
	as, err := cp.st.ListRoleAssignments(r.Context(), r.URL.Query().Get("principalId"))
	if err != nil {
		return err
	}
	out := []apiv1.RoleAssignment{}
	for _, a := range as {
		if a.PrincipalID == c.ID || c.can(actRead, a.Scope) {
			out = append(out, assignmentBody(a))
		}
	}
	return writeJSON(w, http.StatusOK, apiv1.List[apiv1.RoleAssignment]{Value: out})
}

func (cp *ControlPlane) getRoleAssignment(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	a, err := cp.st.GetRoleAssignment(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && a.PrincipalID != c.ID && !c.can(actRead, a.Scope)) {
		return errorf(http.StatusNotFound, "NotFound", "role assignment %q not found", id)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, assignmentBody(a))
}

func (cp *ControlPlane) putRoleAssignment(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	if !assignmentIDRE.MatchString(id) {
		return badRequest("role assignment id %q is invalid: it must match %s", id, assignmentIDRE)
	}
	var body apiv1.RoleAssignment
	if err := decode(r, &body, true); err != nil {
		return err
	}
	if body.PrincipalID == "" {
		return badRequest("field \"principalId\" is required")
	}
	if !validRole(body.RoleDefinitionName) {
		return badRequest("field \"roleDefinitionName\" must be one of Owner, Contributor, Azure AI Developer, Reader, not %q", body.RoleDefinitionName)
	}
	if body.Scope == "" {
		return badRequest("field \"scope\" is required")
	}
	body.Scope = strings.TrimSuffix(body.Scope, "/")
	if body.Scope == "" {
		body.Scope = "/"
	}
	if err := c.require(actRoleWrite, body.Scope); err != nil {
		return err
	}
	if old, err := cp.st.GetRoleAssignment(r.Context(), id); err == nil {
		if err := c.require(actRoleWrite, old.Scope); err != nil {
			return err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := cp.checkScope(r.Context(), body.Scope); err != nil {
		return err
	}
	a := store.RoleAssignment{ID: id, PrincipalID: body.PrincipalID, Role: body.RoleDefinitionName, Scope: body.Scope, CreatedAt: cp.now()}
	created, err := cp.st.PutRoleAssignment(r.Context(), a)
	if errors.Is(err, store.ErrNotFound) {
		return badRequest("principal %q does not exist", body.PrincipalID)
	}
	if err != nil {
		return err
	}
	a, err = cp.st.GetRoleAssignment(r.Context(), id)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, assignmentBody(a))
}

func (cp *ControlPlane) deleteRoleAssignment(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	a, err := cp.st.GetRoleAssignment(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "NotFound", "role assignment %q not found", id)
	}
	if err != nil {
		return err
	}
	if err := c.require(actRoleWrite, a.Scope); err != nil {
		return err
	}
	if err := cp.st.DeleteRoleAssignment(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
