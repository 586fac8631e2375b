package controlplane_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	apiv1 "maas/api/v1"
	"maas/internal/controlplane"
	"maas/internal/snapshot"
	"maas/internal/store"
	"maas/internal/store/sqlite"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	e.wantError("", "GET", "/api/hubs", nil, http.StatusUnauthorized, "Unauthorized")
	e.wantError("wrong", "GET", "/api/hubs", nil, http.StatusUnauthorized, "Unauthorized")
	e.call(adminToken, "GET", "/api/hubs", nil, http.StatusOK, nil)
	e.wantError(adminToken, "GET", "/api/nothing", nil, http.StatusNotFound, "NotFound")
	e.wantError(adminToken, "POST", "/api/hubs/h", nil, http.StatusMethodNotAllowed, "MethodNotAllowed")
}

func TestBootstrapShowsTokenOnce(t *testing.T) {
	ctx := context.Background()
	// A fresh installation without MAAS_ADMIN_TOKEN.
	dir := t.TempDir()
	s, holder := openStore(t, dir)
	cp, err := controlplane.New(ctx, s, holder, controlplane.Options{Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cp.Bootstrap(ctx, "")
	if err != nil || !strings.HasPrefix(tok, "maas_") {
		t.Fatalf("first Bootstrap = %q, %v; want a new token", tok, err)
	}
	again, err := cp.Bootstrap(ctx, "")
	if err != nil || again != "" {
		t.Fatalf("second Bootstrap = %q, %v; want no new token", again, err)
	}
	ps, _ := s.ListPrincipals(ctx)
	if len(ps) != 1 || ps[0].TokenHash == tok || len(ps[0].TokenHash) != 64 {
		t.Fatalf("principals = %+v; want one, with a hashed token", ps)
	}
}

func TestHubsAndProjects(t *testing.T) {
	e := newEnv(t)
	var h apiv1.Hub
	e.call(adminToken, "PUT", "/api/hubs/hub1", map[string]any{"location": "eastus2", "tags": map[string]string{"team": "x"}}, http.StatusCreated, &h)
	if h.Name != "hub1" || h.Location != "eastus2" || h.ID != "/hubs/hub1" || h.SystemData == nil || h.SystemData.CreatedBy != "admin" {
		t.Fatalf("hub = %+v", h)
	}
	e.call(adminToken, "PUT", "/api/hubs/hub1", map[string]any{"location": "eastus2"}, http.StatusOK, &h)
	e.wantError(adminToken, "PUT", "/api/hubs/hub1", map[string]any{"location": "westus"}, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "PUT", "/api/hubs/hub2", map[string]any{"location": "mars"}, http.StatusBadRequest, "InvalidLocation")
	e.call(adminToken, "PUT", "/api/hubs/local", map[string]any{"location": "localdev"}, http.StatusCreated, nil)
	e.wantError(adminToken, "PUT", "/api/hubs/9bad", map[string]any{"location": "eastus2"}, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "PUT", "/api/hubs/hub3", map[string]any{}, http.StatusBadRequest, "BadRequest")

	var p apiv1.Project
	e.call(adminToken, "PUT", "/api/hubs/hub1/projects/proj1", nil, http.StatusCreated, &p)
	if p.Location != "eastus2" || p.Hub != "hub1" || p.ID != "/hubs/hub1/projects/proj1" {
		t.Fatalf("project = %+v; want region of hub", p)
	}
	e.wantError(adminToken, "PUT", "/api/hubs/local/projects/proj1", nil, http.StatusConflict, "Conflict")
	e.wantError(adminToken, "PUT", "/api/hubs/hub1/projects/proj2", map[string]any{"location": "westus"}, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "PUT", "/api/hubs/nohub/projects/proj2", nil, http.StatusNotFound, "NotFound")
	e.wantError(adminToken, "GET", "/api/hubs/local/projects/proj1", nil, http.StatusNotFound, "NotFound")

	var list apiv1.List[apiv1.Project]
	e.call(adminToken, "GET", "/api/projects", nil, http.StatusOK, &list)
	if len(list.Value) != 1 {
		t.Fatalf("projects = %+v", list.Value)
	}
	e.wantError(adminToken, "DELETE", "/api/hubs/hub1", nil, http.StatusConflict, "Conflict")
	pid, _ := e.principal("member", "Reader", "/hubs/hub1/projects/proj1")
	e.call(adminToken, "PUT", "/api/roleAssignments/hub-reader", map[string]string{"principalId": pid, "roleDefinitionName": "Reader", "scope": "/hubs/hub1"}, http.StatusCreated, nil)
	e.call(adminToken, "DELETE", "/api/hubs/hub1/projects/proj1", nil, http.StatusNoContent, nil)
	// Deleting a project drops the role assignments at its scope.
	e.wantError(adminToken, "GET", "/api/roleAssignments/ra-member", nil, http.StatusNotFound, "NotFound")
	e.call(adminToken, "GET", "/api/roleAssignments/hub-reader", nil, http.StatusOK, nil)
	e.call(adminToken, "DELETE", "/api/hubs/hub1", nil, http.StatusNoContent, nil)
	e.wantError(adminToken, "GET", "/api/roleAssignments/hub-reader", nil, http.StatusNotFound, "NotFound")
	e.wantError(adminToken, "GET", "/api/hubs/hub1", nil, http.StatusNotFound, "NotFound")
	var hubs apiv1.List[apiv1.Hub]
	e.call(adminToken, "GET", "/api/hubs", nil, http.StatusOK, &hubs)
	if len(hubs.Value) != 1 || hubs.Value[0].Name != "local" {
		t.Fatalf("hubs = %+v", hubs.Value)
	}
}

func TestBadBodies(t *testing.T) {
	e := newEnv(t)
	e.addHubProject("h", "p", "eastus2")
	er := e.wantError(adminToken, "PUT", "/api/hubs/h2", `{"location":"eastus2","colour":"red"}`, http.StatusBadRequest, "InvalidRequestContent")
	if !strings.Contains(er.Message, `"colour"`) {
		t.Fatalf("unknown field message %q does not name the field", er.Message)
	}
	er = e.wantError(adminToken, "PUT", "/api/hubs/h2", `{"location":42}`, http.StatusBadRequest, "InvalidRequestContent")
	if !strings.Contains(er.Message, `"location"`) || !strings.Contains(er.Message, "string") {
		t.Fatalf("type error message %q does not name the field and type", er.Message)
	}
	er = e.wantError(adminToken, "PUT", "/api/projects/p/serverlessEndpoints/ep",
		`{"properties":{"modelSettings":{"modelId":7}}}`, http.StatusBadRequest, "InvalidRequestContent")
	if !strings.Contains(er.Message, "properties.modelSettings.modelId") {
		t.Fatalf("nested type error message %q does not name the field path", er.Message)
	}
	e.wantError(adminToken, "PUT", "/api/hubs/h2", `{"location":`, http.StatusBadRequest, "InvalidRequestContent")
	e.wantError(adminToken, "PUT", "/api/hubs/h2", `{"location":"eastus2"} {}`, http.StatusBadRequest, "InvalidRequestContent")
	e.wantError(adminToken, "PUT", "/api/hubs/h2", `{"location":"`+strings.Repeat("a", 2<<20)+`"}`, http.StatusRequestEntityTooLarge, "RequestTooLarge")
	e.wantError(adminToken, "PUT", "/api/projects/p/serverlessEndpoints/ep", "", http.StatusBadRequest, "InvalidRequestContent")
}

func TestModelCatalog(t *testing.T) {
	e := newEnv(t)
	var list apiv1.List[apiv1.Model]
	e.call(adminToken, "GET", "/api/models", nil, http.StatusOK, &list)
	want := map[string][2]float64{
		"Phi-3-mini-4k-instruct": {0.00013, 0.00052}, "Phi-3-mini-128k-instruct": {0.00013, 0.00052},
		"Phi-3-small-8k-instruct": {0.00015, 0.0006}, "Phi-3-small-128k-instruct": {0.00015, 0.0006},
		"Phi-3-medium-4k-instruct": {0.00017, 0.00068}, "Phi-3-medium-128k-instruct": {0.00017, 0.00068},
		"Phi-3.5-mini-instruct": {0.00013, 0.00052}, "Phi-3.5-MoE-instruct": {0.00016, 0.00064},
	}
	if len(list.Value) != len(want) {
		t.Fatalf("catalog has %d models, want %d", len(list.Value), len(want))
	}
	for _, m := range list.Value {
		p, ok := want[m.Name]
		if !ok || m.Pricing == nil || m.Pricing.InputPer1K != p[0] || m.Pricing.OutputPer1K != p[1] {
			t.Errorf("model %s pricing %+v, want %v", m.Name, m.Pricing, p)
		}
		if m.CatalogID != controlplane.CatalogPrefix+m.Name || m.Source != "builtin" || m.Ready {
			t.Errorf("model %s = id %q source %q ready %v", m.Name, m.CatalogID, m.Source, m.Ready)
		}
	}
	var mini apiv1.Model
	e.call(adminToken, "GET", "/api/models/Phi-3-mini-4k-instruct", nil, http.StatusOK, &mini)
	if mini.ContextLength != 4096 || len(mini.Regions) != 2 || len(mini.Weights) == 0 || !strings.HasPrefix(mini.Weights[0].URL, "https://huggingface.co/microsoft/") {
		t.Fatalf("mini = %+v", mini)
	}
	var moe apiv1.Model
	e.call(adminToken, "GET", "/api/models/Phi-3.5-MoE-instruct", nil, http.StatusOK, &moe)
	if len(moe.Regions) != 7 || moe.ContextLength != 131072 {
		t.Fatalf("moe = %+v", moe)
	}
	e.wantError(adminToken, "GET", "/api/models/nope", nil, http.StatusNotFound, "NotFound")

	m := e.addModel("tiny", "eastus2")
	if m.CatalogID != controlplane.CatalogPrefix+"tiny" || m.Source != "operator" || !m.Ready || m.LifecycleStage != "GenerallyAvailable" {
		t.Fatalf("operator model = %+v", m)
	}
	e.call(adminToken, "PUT", "/api/models/tiny", map[string]any{"file": m.File, "regions": []string{"eastus2"},
		"pricing": map[string]float64{"inputPer1K": 1, "outputPer1K": 2}, "catalogId": "azureml://registries/mine/models/tiny"}, http.StatusOK, &m)
	if m.CatalogID != "azureml://registries/mine/models/tiny" {
		t.Fatalf("catalogId = %q", m.CatalogID)
	}
	for _, bad := range []map[string]any{
		{"file": m.File, "regions": []string{"eastus2"}},
		{"file": m.File, "pricing": map[string]float64{"inputPer1K": 1, "outputPer1K": 1}},
		{"file": "relative.gguf", "regions": []string{"eastus2"}, "pricing": map[string]float64{}},
		{"regions": []string{"eastus2"}, "pricing": map[string]float64{}},
		{"upstream": "ftp://x", "regions": []string{"eastus2"}, "pricing": map[string]float64{}},
		{"file": m.File, "regions": []string{"pluto"}, "pricing": map[string]float64{}},
		{"file": m.File, "regions": []string{"eastus2"}, "pricing": map[string]float64{}, "lifecycleStage": "Ancient"},
	} {
		st, b := e.do(adminToken, "PUT", "/api/models/bad", bad)
		if st != http.StatusBadRequest {
			t.Errorf("PUT model %v: status %d (%s), want 400", bad, st, b)
		}
	}
	e.wantError(adminToken, "PUT", "/api/models/other", map[string]any{"file": m.File, "regions": []string{"eastus2"},
		"pricing": map[string]float64{}, "catalogId": "azureml://registries/mine/models/tiny"}, http.StatusConflict, "Conflict")
	var up apiv1.Model
	e.call(adminToken, "PUT", "/api/models/remote", map[string]any{"upstream": "http://127.0.0.1:9/v1", "upstreamModel": "phi3",
		"regions": []string{"eastus2"}, "pricing": map[string]float64{"inputPer1K": 0, "outputPer1K": 0}}, http.StatusCreated, &up)
	if !up.Ready {
		t.Fatal("upstream model not ready")
	}
	e.call(adminToken, "DELETE", "/api/models/remote", nil, http.StatusNoContent, nil)
	e.wantError(adminToken, "DELETE", "/api/models/Phi-3-mini-4k-instruct", nil, http.StatusNotFound, "NotFound")
}

func TestRestartLosesNothing(t *testing.T) {
	e := newEnv(t)
	e.addModel("tiny", "eastus2")
	e.addHubProject("h", "p", "eastus2")
	ep := e.deploy(adminToken, "p", "ep1", controlplane.CatalogPrefix+"tiny")
	keys := e.keys(adminToken, "p", "ep1")
	e.call(adminToken, "PUT", "/api/projects/p/serverlessEndpoints/ep1/quota", map[string]int{"tokensPerMinute": 5, "requestsPerMinute": 6}, http.StatusOK, nil)
	_, readerToken := e.principal("reader", "Reader", "/hubs/h")

	e.restart()

	var got apiv1.ServerlessEndpoint
	e.call(adminToken, "GET", "/api/projects/p/serverlessEndpoints/ep1", nil, http.StatusOK, &got)
	if got.Properties.ProvisioningState != "Succeeded" || got.Properties.InferenceEndpoint.URI != ep.Properties.InferenceEndpoint.URI {
		t.Fatalf("endpoint after restart = %+v", got.Properties)
	}
	if k := e.keys(adminToken, "p", "ep1"); k != keys {
		t.Fatalf("keys changed across restart: %+v vs %+v", k, keys)
	}
	e.call(readerToken, "GET", "/api/projects/p/serverlessEndpoints/ep1", nil, http.StatusOK, nil)
	snap := e.holder.Load()
	se := snap.Authenticate(keys.SecondaryKey)
	if se == nil || !se.Online || se.TokensPerMinute != 5 || se.RequestsPerMinute != 6 || se.Model.Name != "tiny" {
		t.Fatalf("snapshot after restart: %+v", se)
	}
}

func openStore(t *testing.T, dir string) (store.Store, *snapshot.Holder) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "maas.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, &snapshot.Holder{}
}
