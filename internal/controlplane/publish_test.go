package controlplane_test

import (
	"net/http"
	"testing"

	"maas/internal/controlplane"
)

// The snapshot carries contentSafetyStatus: Enabled by default at create,
// and every PATCH or PUT that changes it publishes a new snapshot.
func TestPublishContentSafety(t *testing.T) {
	e := newEnv(t)
	e.addModel("tiny", "eastus2")
	e.addHubProject("h", "p", "eastus2")
	e.deploy(adminToken, "p", "ep", controlplane.CatalogPrefix+"tiny")
	snap := e.holder.Load()
	if se := snap.Route("eastus2", "ep"); se == nil || !se.ContentSafety {
		t.Fatalf("new endpoint: ContentSafety off in the snapshot (%+v)", se)
	}
	path := "/api/projects/p/serverlessEndpoints/ep"
	patch := func(status string) map[string]any {
		return map[string]any{"properties": map[string]any{"contentSafety": map[string]string{"contentSafetyStatus": status}}}
	}
	e.call(adminToken, "PATCH", path, patch("Disabled"), http.StatusOK, nil)
	next := e.holder.Load()
	if next.Version <= snap.Version {
		t.Fatalf("PATCH did not publish: version %d after %d", next.Version, snap.Version)
	}
	if se := next.Route("eastus2", "ep"); se == nil || se.ContentSafety {
		t.Fatalf("after PATCH Disabled: %+v", se)
	}
	e.call(adminToken, "PATCH", path, patch("Enabled"), http.StatusOK, nil)
	if se := e.holder.Load().Route("eastus2", "ep"); se == nil || !se.ContentSafety {
		t.Fatalf("after PATCH Enabled: %+v", se)
	}
	body := endpointBody(controlplane.CatalogPrefix + "tiny")
	body["properties"].(map[string]any)["contentSafety"] = map[string]string{"contentSafetyStatus": "Disabled"}
	e.call(adminToken, "PUT", path, body, http.StatusOK, nil)
	if se := e.holder.Load().Route("eastus2", "ep"); se == nil || se.ContentSafety {
		t.Fatalf("after PUT Disabled: %+v", se)
	}
	// A restart publishes from the store: the setting persists.
	e.restart()
	if se := e.holder.Load().Route("eastus2", "ep"); se == nil || se.ContentSafety {
		t.Fatalf("after restart: %+v", se)
	}
	// A create that asks for Disabled starts unfiltered.
	e.addHubProject("h", "p2", "eastus2")
	e.call(adminToken, "PUT", "/api/projects/p2/serverlessEndpoints/ep2", body, http.StatusCreated, nil)
	if se := e.holder.Load().Route("eastus2", "ep2"); se == nil || se.ContentSafety {
		t.Fatalf("created Disabled: %+v", se)
	}
}
