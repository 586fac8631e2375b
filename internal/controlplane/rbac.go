package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	apiv1 "maas/api/v1"
	"maas/internal/store"
)

// action is something a caller may be allowed to do at a scope.
type action int

const (
	actRead           action = iota // GET anything
	actHubWrite                     // create or update a hub
	actHubDelete                    // delete a hub
	actProjectCreate                // create a project in a hub
	actProjectWrite                 // update a project
	actProjectDelete                // delete a project
	actEndpointWrite                // create, update, delete endpoints; regenerate keys
	actEndpointKeys                 // read endpoint keys
	actQuotaWrite                   // change an endpoint's rate limits
	actRoleWrite                    // assign and remove roles
	actPrincipalWrite               // create and delete principals
	actModelWrite                   // add, change, import catalog models
)

// rolePermits is the permission table of spec section 5: Owner may do
// everything; Contributor everything but manage permissions (and quotas,
// the "contact support" path); Azure AI Developer may create projects and
// deploy but not touch hubs, project settings or permissions; Reader may
// only read.
func rolePermits(role string, a action) bool {
	switch role {
	case apiv1.RoleOwner:
		return true
	case apiv1.RoleContributor:
		switch a {
		case actRoleWrite, actPrincipalWrite, actQuotaWrite:
			return false
		}
		return true
	case apiv1.RoleDeveloper:
		switch a {
		case actRead, actProjectCreate, actEndpointWrite, actEndpointKeys:
			return true
		}
		return false
	case apiv1.RoleReader:
		return a == actRead
	}
	return false
}

func validRole(role string) bool {
	switch role {
	case apiv1.RoleOwner, apiv1.RoleContributor, apiv1.RoleDeveloper, apiv1.RoleReader:
		return true
	}
	return false
}

func hubScope(hub string) string { return "/hubs/" + hub }

func projectScope(hub, project string) string { return "/hubs/" + hub + "/projects/" + project }

// within reports whether target is scope or lies below it.
func within(target, scope string) bool {
	return scope == "/" || target == scope || strings.HasPrefix(target, scope+"/")
}

// dropAssignments deletes the role assignments at scope or below it, after
// the hub or project it names was deleted, so that a new resource of the
// same name does not inherit them.
func (cp *ControlPlane) dropAssignments(ctx context.Context, scope string) error {
	as, err := cp.st.ListRoleAssignments(ctx, "")
	if err != nil {
		return fmt.Errorf("drop role assignments of %s: %w", scope, err)
	}
	for _, a := range as {
		if within(a.Scope, scope) {
			if err := cp.st.DeleteRoleAssignment(ctx, a.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("drop role assignments of %s: %w", scope, err)
			}
		}
	}
	return nil
}

// caller is an authenticated principal with its role assignments.
type caller struct {
	store.Principal
	assignments []store.RoleAssignment
}

// can reports whether c may do a at scope.
func (c *caller) can(a action, scope string) bool {
	for _, as := range c.assignments {
		if within(scope, as.Scope) && rolePermits(as.Role, a) {
			return true
		}
	}
	return false
}

// sees reports whether c holds any role at, above or below scope, so that
// the resource shows up in listings.
func (c *caller) sees(scope string) bool {
	for _, as := range c.assignments {
		if within(scope, as.Scope) || within(as.Scope, scope) {
			return true
		}
	}
	return false
}

// require fails with 403 unless c may do a at scope.
func (c *caller) require(a action, scope string) error {
	if c.can(a, scope) {
		return nil
	}
	return errorf(http.StatusForbidden, "AuthorizationFailed",
		"principal %q does not have permission to perform this action at scope %q", c.Name, scope)
}
