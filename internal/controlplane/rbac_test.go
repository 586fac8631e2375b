package controlplane_test

import (
	"net/http"
	"testing"

	apiv1 "maas/api/v1"
	"maas/internal/controlplane"
)

func TestRoles(t *testing.T) {
	e := newEnv(t)
	e.addModel("tiny", "eastus2")
	e.addModel("tiny2", "eastus2")
	e.addHubProject("h", "p", "eastus2")
	e.addHubProject("h", "q", "eastus2")
	e.addHubProject("other", "x", "eastus2")
	tiny := controlplane.CatalogPrefix + "tiny"
	e.deploy(adminToken, "p", "ep", tiny)

	readerID, reader := e.principal("reader", "Reader", "/hubs/h/projects/p")
	devID, dev := e.principal("dev", "Azure AI Developer", "/hubs/h/projects/p")
	_, hubDev := e.principal("hubdev", "Azure AI Developer", "/hubs/h")
	_, contrib := e.principal("contrib", "Contributor", "/hubs/h")
	_, projOwner := e.principal("powner", "Owner", "/hubs/h/projects/p")
	_, nobody := e.principal("nobody", "", "")

	const eps = "/api/projects/p/serverlessEndpoints"
	// Reader: reads, cannot deploy, list keys, regenerate, delete.
	e.call(reader, "GET", eps, nil, http.StatusOK, nil)
	e.call(reader, "GET", eps+"/ep", nil, http.StatusOK, nil)
	e.call(reader, "GET", "/api/projects/p/usage", nil, http.StatusOK, nil)
	e.wantError(reader, "PUT", eps+"/ep2", endpointBody(controlplane.CatalogPrefix+"tiny2"), http.StatusForbidden, "AuthorizationFailed")
	e.wantError(reader, "POST", eps+"/ep/listKeys", nil, http.StatusForbidden, "AuthorizationFailed")
	e.wantError(reader, "POST", eps+"/ep/regenerateKeys", map[string]string{"keyType": "Primary"}, http.StatusForbidden, "AuthorizationFailed")
	e.wantError(reader, "DELETE", eps+"/ep", nil, http.StatusForbidden, "AuthorizationFailed")
	// A project-scoped role does not reach a sibling project.
	e.wantError(reader, "GET", "/api/projects/q/serverlessEndpoints", nil, http.StatusNotFound, "NotFound")

	// Developer: deploys and lists keys, cannot assign roles, set quota or change hubs.
	e.deploy(dev, "p", "ep2", controlplane.CatalogPrefix+"tiny2")
	e.keys(dev, "p", "ep2")
	e.call(dev, "POST", eps+"/ep2/regenerateKeys", map[string]string{"keyType": "Secondary"}, http.StatusOK, nil)
	e.wantError(dev, "PUT", "/api/roleAssignments/dev-grant", map[string]string{"principalId": readerID, "roleDefinitionName": "Owner", "scope": "/hubs/h/projects/p"}, http.StatusForbidden, "AuthorizationFailed")
	e.wantError(dev, "PUT", eps+"/ep2/quota", map[string]int{"tokensPerMinute": 1, "requestsPerMinute": 1}, http.StatusForbidden, "AuthorizationFailed")
	e.wantError(dev, "DELETE", "/api/hubs/h/projects/p", nil, http.StatusForbidden, "AuthorizationFailed")
	e.wantError(dev, "PUT", "/api/models/mine", map[string]any{"file": "/x.gguf", "regions": []string{"eastus2"}, "pricing": map[string]float64{}}, http.StatusForbidden, "AuthorizationFailed")
	e.call(dev, "DELETE", eps+"/ep2", nil, http.StatusNoContent, nil)
	// A developer at hub scope can create projects but not hubs.
	e.call(hubDev, "PUT", "/api/hubs/h/projects/devproj", nil, http.StatusCreated, nil)
	e.wantError(hubDev, "PUT", "/api/hubs/newhub", map[string]string{"location": "eastus2"}, http.StatusForbidden, "AuthorizationFailed")
	e.wantError(hubDev, "PUT", "/api/hubs/h", map[string]string{"location": "eastus2"}, http.StatusForbidden, "AuthorizationFailed")

	// Contributor: full access except permissions.
	e.call(contrib, "PUT", "/api/hubs/h", map[string]string{"location": "eastus2"}, http.StatusOK, nil)
	e.call(contrib, "PUT", "/api/hubs/h/projects/cproj", nil, http.StatusCreated, nil)
	e.keys(contrib, "p", "ep")
	e.wantError(contrib, "PUT", "/api/roleAssignments/c-grant", map[string]string{"principalId": readerID, "roleDefinitionName": "Reader", "scope": "/hubs/h"}, http.StatusForbidden, "AuthorizationFailed")
	e.wantError(contrib, "POST", "/api/principals", map[string]string{"name": "x"}, http.StatusForbidden, "AuthorizationFailed")
	e.wantError(contrib, "GET", "/api/hubs/other", nil, http.StatusNotFound, "NotFound")

	// A project Owner assigns roles inside its project only.
	e.call(projOwner, "PUT", "/api/roleAssignments/po-grant", map[string]string{"principalId": devID, "roleDefinitionName": "Reader", "scope": "/hubs/h/projects/p"}, http.StatusCreated, nil)
	e.wantError(projOwner, "PUT", "/api/roleAssignments/po-grant2", map[string]string{"principalId": devID, "roleDefinitionName": "Reader", "scope": "/hubs/h"}, http.StatusForbidden, "AuthorizationFailed")
	e.call(projOwner, "PUT", eps+"/ep/quota", map[string]int{"tokensPerMinute": 7, "requestsPerMinute": 7}, http.StatusOK, nil)

	// No role: sees nothing.
	var hubs apiv1.List[apiv1.Hub]
	e.call(nobody, "GET", "/api/hubs", nil, http.StatusOK, &hubs)
	if len(hubs.Value) != 0 {
		t.Fatalf("principal without roles sees hubs %+v", hubs.Value)
	}
	e.wantError(nobody, "GET", eps, nil, http.StatusNotFound, "NotFound")
	e.call(reader, "GET", "/api/hubs", nil, http.StatusOK, &hubs)
	if len(hubs.Value) != 1 || hubs.Value[0].Name != "h" {
		t.Fatalf("project reader sees hubs %+v, want only h", hubs.Value)
	}

	// Role assignments: validation and listing.
	e.wantError(adminToken, "PUT", "/api/roleAssignments/bad", map[string]string{"principalId": readerID, "roleDefinitionName": "Emperor", "scope": "/"}, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "PUT", "/api/roleAssignments/bad", map[string]string{"principalId": readerID, "roleDefinitionName": "Reader", "scope": "/hubs/none"}, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "PUT", "/api/roleAssignments/bad", map[string]string{"principalId": readerID, "roleDefinitionName": "Reader", "scope": "/hubs/h/projects/x"}, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "PUT", "/api/roleAssignments/bad", map[string]string{"principalId": readerID, "roleDefinitionName": "Reader", "scope": "/things"}, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "PUT", "/api/roleAssignments/bad", map[string]string{"principalId": "ghost", "roleDefinitionName": "Reader", "scope": "/"}, http.StatusBadRequest, "BadRequest")
	var ras apiv1.List[apiv1.RoleAssignment]
	e.call(reader, "GET", "/api/roleAssignments", nil, http.StatusOK, &ras)
	for _, a := range ras.Value {
		if a.Scope != "/hubs/h/projects/p" && a.PrincipalID != readerID {
			t.Fatalf("reader sees assignment %+v outside its scope", a)
		}
	}
	// Upgrading the reader to Developer takes effect at once; deleting the grant revokes it.
	e.call(adminToken, "PUT", "/api/roleAssignments/ra-reader", map[string]string{"principalId": readerID, "roleDefinitionName": "Azure AI Developer", "scope": "/hubs/h/projects/p"}, http.StatusOK, nil)
	e.keys(reader, "p", "ep")
	e.call(adminToken, "DELETE", "/api/roleAssignments/ra-reader", nil, http.StatusNoContent, nil)
	e.wantError(reader, "GET", eps, nil, http.StatusNotFound, "NotFound")

	// Principals: deleting one revokes its token.
	e.call(adminToken, "DELETE", "/api/principals/"+devID, nil, http.StatusNoContent, nil)
	e.wantError(dev, "GET", "/api/hubs", nil, http.StatusUnauthorized, "Unauthorized")
	var ps apiv1.List[apiv1.Principal]
	e.call(adminToken, "GET", "/api/principals", nil, http.StatusOK, &ps)
	for _, p := range ps.Value {
		if p.Token != "" {
			t.Fatalf("principal list shows a token: %+v", p)
		}
	}
	e.wantError(adminToken, "POST", "/api/principals", map[string]string{"name": ""}, http.StatusBadRequest, "BadRequest")
}
