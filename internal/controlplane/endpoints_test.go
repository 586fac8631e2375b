package controlplane_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	apiv1 "maas/api/v1"
	"maas/internal/controlplane"
	"maas/internal/testdata"
)

func TestEndpointLifecycle(t *testing.T) {
	e := newEnv(t)
	e.addModel("tiny", "eastus2")
	e.addHubProject("h", "p", "eastus2")
	if v0 := e.holder.Load().Version; v0 == 0 {
		t.Fatal("no snapshot published at start")
	}
	ep := e.deploy(adminToken, "p", "my-ep", controlplane.CatalogPrefix+"tiny")
	pr := ep.Properties
	if ep.Name != "my-ep" || ep.Location != "eastus2" || ep.SKU == nil || ep.SKU.Name != "Consumption" ||
		ep.Type != "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints" || ep.SystemData == nil ||
		pr.ProvisioningState != "Succeeded" || pr.EndpointState != "Online" || pr.AuthMode != "Key" ||
		pr.ContentSafety == nil || pr.ContentSafety.ContentSafetyStatus != "Enabled" ||
		pr.ModelSettings.ModelID != controlplane.CatalogPrefix+"tiny" ||
		pr.InferenceEndpoint == nil || pr.InferenceEndpoint.URI != "http://maas.test/serverless/eastus2/my-ep" {
		t.Fatalf("endpoint = %+v, properties %+v", ep, pr)
	}
	keys := e.keys(adminToken, "p", "my-ep")
	snap := e.holder.Load()
	se := snap.Route("eastus2", "my-ep")
	if se == nil || !se.Online || se.Project != "p" || se.Hub != "h" || se.TokensPerMinute != 200000 || se.RequestsPerMinute != 1000 ||
		se.Model.File != filepath.Join(e.dir, "tiny.gguf") || se.Model.InputPer1K != 0.00013 || se.Model.OutputPer1K != 0.00052 || se.Model.ContextLength != 4096 {
		t.Fatalf("snapshot endpoint = %+v", se)
	}
	if snap.Authenticate(keys.PrimaryKey) != se || snap.Authenticate(keys.SecondaryKey) != se {
		t.Fatal("snapshot does not open with the listed keys")
	}

	// PUT again updates (200); the model cannot change.
	body := endpointBody(controlplane.CatalogPrefix + "tiny")
	body["properties"].(map[string]any)["contentSafety"] = map[string]string{"contentSafetyStatus": "Disabled"}
	var upd apiv1.ServerlessEndpoint
	e.call(adminToken, "PUT", "/api/projects/p/serverlessEndpoints/my-ep", body, http.StatusOK, &upd)
	if upd.Properties.ContentSafety.ContentSafetyStatus != "Disabled" {
		t.Fatalf("update = %+v", upd.Properties)
	}
	e.addModel("other", "eastus2")
	e.wantError(adminToken, "PUT", "/api/projects/p/serverlessEndpoints/my-ep", endpointBody(controlplane.CatalogPrefix+"other"), http.StatusBadRequest, "BadRequest")

	e.call(adminToken, "PATCH", "/api/projects/p/serverlessEndpoints/my-ep",
		map[string]any{"properties": map[string]any{"contentSafety": map[string]string{"contentSafetyStatus": "Enabled"}}}, http.StatusOK, &upd)
	if upd.Properties.ContentSafety.ContentSafetyStatus != "Enabled" {
		t.Fatalf("patch = %+v", upd.Properties)
	}
	e.wantError(adminToken, "PATCH", "/api/projects/p/serverlessEndpoints/my-ep", map[string]any{"properties": map[string]any{"authMode": "AAD"}}, http.StatusBadRequest, "InvalidRequestContent")

	var status struct{ Metrics map[string]string }
	e.call(adminToken, "POST", "/api/projects/p/serverlessEndpoints/my-ep/getStatus", nil, http.StatusOK, &status)
	if status.Metrics["serving"] != "true" || status.Metrics["provisioningState"] != "Succeeded" || status.Metrics["tokensPerMinute"] != "200000" {
		t.Fatalf("getStatus = %+v", status.Metrics)
	}
	var list apiv1.List[apiv1.ServerlessEndpoint]
	e.call(adminToken, "GET", "/api/projects/p/serverlessEndpoints", nil, http.StatusOK, &list)
	if len(list.Value) != 1 || list.Value[0].Name != "my-ep" {
		t.Fatalf("list = %+v", list.Value)
	}
	e.wantError(adminToken, "DELETE", "/api/hubs/h/projects/p", nil, http.StatusConflict, "Conflict")
	e.call(adminToken, "DELETE", "/api/projects/p/serverlessEndpoints/my-ep", nil, http.StatusNoContent, nil)
	e.wantError(adminToken, "GET", "/api/projects/p/serverlessEndpoints/my-ep", nil, http.StatusNotFound, "NotFound")
	if e.holder.Load().Route("eastus2", "my-ep") != nil || e.holder.Load().Authenticate(keys.PrimaryKey) != nil {
		t.Fatal("deleted endpoint still in the snapshot")
	}
}

func TestEndpointRules(t *testing.T) {
	e := newEnv(t)
	e.addModel("tiny", "eastus2", "swedencentral")
	e.addModel("tiny2", "eastus2")
	e.addHubProject("h", "p1", "eastus2")
	e.addHubProject("h", "p2", "eastus2")
	e.addHubProject("hs", "p3", "swedencentral")
	e.addHubProject("hw", "pw", "westus")
	tiny := controlplane.CatalogPrefix + "tiny"
	put := func(project, name string, body any) (int, []byte) {
		return e.do(adminToken, "PUT", "/api/projects/"+project+"/serverlessEndpoints/"+name, body)
	}

	for _, bad := range []string{"1abc", "-x", "a_b", "a.b", strings.Repeat("a", 53)} {
		if st, b := put("p1", bad, endpointBody(tiny)); st != http.StatusBadRequest {
			t.Errorf("name %q: status %d (%s), want 400", bad, st, b)
		}
	}
	e.deploy(adminToken, "p1", strings.Repeat("a", 52), tiny)
	e.call(adminToken, "DELETE", "/api/projects/p1/serverlessEndpoints/"+strings.Repeat("a", 52), nil, http.StatusNoContent, nil)

	e.deploy(adminToken, "p1", "ep", tiny)
	// Unique per region: another project in eastus2 cannot take "ep"...
	e.wantError(adminToken, "PUT", "/api/projects/p2/serverlessEndpoints/ep", endpointBody(controlplane.CatalogPrefix+"tiny2"), http.StatusConflict, "Conflict")
	// ...but a project in another region can.
	e.deploy(adminToken, "p3", "ep", tiny)
	// One endpoint per model per project.
	msg := e.wantError(adminToken, "PUT", "/api/projects/p1/serverlessEndpoints/ep2", endpointBody(tiny), http.StatusConflict, "Conflict")
	if !strings.Contains(msg.Message, "one endpoint per model per project") {
		t.Fatalf("conflict message %q", msg.Message)
	}
	e.deploy(adminToken, "p2", "ep2", tiny)

	// Region availability uses the spec's error text.
	er := e.wantError(adminToken, "PUT", "/api/projects/pw/serverlessEndpoints/x",
		endpointBody(controlplane.CatalogPrefix+"Phi-3-mini-4k-instruct"), http.StatusBadRequest, "UserError")
	want := "The requested model azureml://registries/azureml/models/Phi-3-mini-4k-instruct is not available in region West US."
	if er.Message != want {
		t.Fatalf("region error %q, want %q", er.Message, want)
	}
	// A version in the model id is refused.
	e.wantError(adminToken, "PUT", "/api/projects/p1/serverlessEndpoints/v",
		endpointBody(controlplane.CatalogPrefix+"tiny2/versions/3"), http.StatusBadRequest, "UserError")
	e.wantError(adminToken, "PUT", "/api/projects/p1/serverlessEndpoints/v",
		endpointBody(controlplane.CatalogPrefix+"nope"), http.StatusBadRequest, "UserError")
	e.wantError(adminToken, "PUT", "/api/projects/p1/serverlessEndpoints/v", map[string]any{"properties": map[string]any{}}, http.StatusBadRequest, "BadRequest")
	bad := endpointBody(controlplane.CatalogPrefix + "tiny2")
	bad["sku"] = map[string]string{"name": "Standard"}
	e.wantError(adminToken, "PUT", "/api/projects/p1/serverlessEndpoints/v", bad, http.StatusBadRequest, "BadRequest")
	bad = endpointBody(controlplane.CatalogPrefix + "tiny2")
	bad["location"] = "westus"
	e.wantError(adminToken, "PUT", "/api/projects/p1/serverlessEndpoints/v", bad, http.StatusBadRequest, "BadRequest")

	// Deprecated and retired models cannot be deployed; legacy ones can.
	for stage, want := range map[string]int{"Deprecated": 400, "Retired": 400, "Legacy": 201} {
		name := "m-" + strings.ToLower(stage)
		e.call(adminToken, "PUT", "/api/models/"+name, map[string]any{"file": e.fakeGGUF(name + ".gguf"), "regions": []string{"eastus2"},
			"pricing": map[string]float64{"inputPer1K": 1, "outputPer1K": 1}, "lifecycleStage": stage}, http.StatusCreated, nil)
		if st, b := put("p1", "ep-"+strings.ToLower(stage), endpointBody(controlplane.CatalogPrefix+name)); st != want {
			t.Errorf("%s model: status %d (%s), want %d", stage, st, b, want)
		}
	}
	// A bare catalog name is accepted and expanded to the catalog id.
	var ep apiv1.ServerlessEndpoint
	e.call(adminToken, "PUT", "/api/projects/p1/serverlessEndpoints/byname", endpointBody("tiny2"), http.StatusCreated, &ep)
	if ep.Properties.ModelSettings.ModelID != controlplane.CatalogPrefix+"tiny2" {
		t.Fatalf("modelId = %q", ep.Properties.ModelSettings.ModelID)
	}
	e.wantError(adminToken, "GET", "/api/projects/nope/serverlessEndpoints", nil, http.StatusNotFound, "NotFound")
}

func TestProvisioningNeedsValidWeights(t *testing.T) {
	e := newEnv(t)
	e.addHubProject("h", "p", "eastus2")
	// The built-in Phi-3-mini has not been pulled: provisioning fails.
	ep := e.deploy(adminToken, "p", "mini", controlplane.CatalogPrefix+"Phi-3-mini-4k-instruct")
	if ep.Properties.ProvisioningState != "Failed" || ep.Properties.EndpointState != "CreationFailed" ||
		!strings.Contains(ep.Properties.FailureReason, "maas models pull Phi-3-mini-4k-instruct") {
		t.Fatalf("endpoint without weights = %+v", ep.Properties)
	}
	if se := e.holder.Load().Route("eastus2", "mini"); se == nil || se.Online {
		t.Fatalf("failed endpoint in snapshot = %+v; want present and offline", se)
	}
	// Importing a file that is not GGUF is refused.
	junk := filepath.Join(e.dir, "junk.gguf")
	os.WriteFile(junk, []byte("not a model at all"), 0o644)
	e.wantError(adminToken, "POST", "/api/models/Phi-3-mini-4k-instruct/import", map[string]string{"file": junk}, http.StatusBadRequest, "InvalidWeights")
	e.wantError(adminToken, "POST", "/api/models/Phi-3-mini-4k-instruct/import", map[string]string{"file": "rel.gguf"}, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "POST", "/api/models/Nope/import", map[string]string{"file": junk}, http.StatusNotFound, "NotFound")
	// A valid import provisions the failed endpoint again.
	var m apiv1.Model
	e.call(adminToken, "POST", "/api/models/Phi-3-mini-4k-instruct/import", map[string]string{"file": e.fakeGGUF("mini.gguf")}, http.StatusCreated, &m)
	if !m.Ready || m.File != filepath.Join(e.dir, "mini.gguf") || m.Pricing.InputPer1K != 0.00013 {
		t.Fatalf("imported model = %+v", m)
	}
	ep = apiv1.ServerlessEndpoint{}
	e.call(adminToken, "GET", "/api/projects/p/serverlessEndpoints/mini", nil, http.StatusOK, &ep)
	if ep.Properties.ProvisioningState != "Succeeded" || ep.Properties.FailureReason != "" {
		t.Fatalf("after import = %+v", ep.Properties)
	}
	if se := e.holder.Load().Route("eastus2", "mini"); se == nil || !se.Online || se.Model.File != m.File {
		t.Fatalf("snapshot after import = %+v", se)
	}
	// An operator entry whose file disappeared fails provisioning.
	e.addModel("gone", "eastus2")
	os.Remove(filepath.Join(e.dir, "gone.gguf"))
	ep = e.deploy(adminToken, "p", "gone", controlplane.CatalogPrefix+"gone")
	if ep.Properties.ProvisioningState != "Failed" || !strings.Contains(ep.Properties.FailureReason, "gone.gguf") {
		t.Fatalf("endpoint with a missing file = %+v", ep.Properties)
	}
	// PUT again after fixing the file retries provisioning.
	e.fakeGGUF("gone.gguf")
	e.call(adminToken, "PUT", "/api/projects/p/serverlessEndpoints/gone", endpointBody(controlplane.CatalogPrefix+"gone"), http.StatusOK, &ep)
	if ep.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("retry = %+v", ep.Properties)
	}
}

func TestTinyPhi3Fixture(t *testing.T) {
	file := testdata.Phi3File(t, "tiny-phi3-q4_k_m.gguf")
	e := newEnv(t)
	e.addHubProject("h", "p", "eastus2")
	e.call(adminToken, "PUT", "/api/models/tiny-phi3", map[string]any{"file": file, "regions": []string{"eastus2"},
		"pricing": map[string]float64{"inputPer1K": 0.00013, "outputPer1K": 0.00052}, "contextLength": 4096}, http.StatusCreated, nil)
	ep := e.deploy(adminToken, "p", "tiny", "azureml://registries/azureml/models/tiny-phi3")
	if ep.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("tiny fixture endpoint = %+v", ep.Properties)
	}
	if se := e.holder.Load().Route("eastus2", "tiny"); se == nil || se.Model.File != file {
		t.Fatalf("snapshot = %+v", se)
	}
}

func TestKeys(t *testing.T) {
	e := newEnv(t)
	e.addModel("tiny", "eastus2")
	e.addHubProject("h", "p", "eastus2")
	e.deploy(adminToken, "p", "ep", controlplane.CatalogPrefix+"tiny")
	k := e.keys(adminToken, "p", "ep")
	for _, key := range []string{k.PrimaryKey, k.SecondaryKey} {
		if len(key) != 32 || strings.Trim(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Fatalf("key %q is not 32 letters and digits", key)
		}
	}
	if k.PrimaryKey == k.SecondaryKey {
		t.Fatal("primary and secondary keys are equal")
	}
	var k2 apiv1.EndpointKeys
	e.call(adminToken, "POST", "/api/projects/p/serverlessEndpoints/ep/regenerateKeys", map[string]string{"keyType": "Primary"}, http.StatusOK, &k2)
	if k2.PrimaryKey == k.PrimaryKey || k2.SecondaryKey != k.SecondaryKey {
		t.Fatalf("regenerate primary: %+v -> %+v", k, k2)
	}
	snap := e.holder.Load()
	if snap.Authenticate(k.PrimaryKey) != nil {
		t.Fatal("old primary key still works")
	}
	if snap.Authenticate(k2.PrimaryKey) == nil || snap.Authenticate(k.SecondaryKey) == nil {
		t.Fatal("new primary or untouched secondary key does not work")
	}
	var k3 apiv1.EndpointKeys
	e.call(adminToken, "POST", "/api/projects/p/serverlessEndpoints/ep/regenerateKeys", map[string]string{"keyType": "secondary"}, http.StatusOK, &k3)
	if k3.PrimaryKey != k2.PrimaryKey || k3.SecondaryKey == k2.SecondaryKey || e.holder.Load().Authenticate(k2.SecondaryKey) != nil {
		t.Fatalf("regenerate secondary: %+v -> %+v", k2, k3)
	}
	explicit := strings.Repeat("Ab1", 10) + "Zz"
	e.call(adminToken, "POST", "/api/projects/p/serverlessEndpoints/ep/regenerateKeys", map[string]string{"keyType": "Secondary", "keyValue": explicit}, http.StatusOK, &k3)
	if k3.SecondaryKey != explicit {
		t.Fatalf("explicit key value not used: %+v", k3)
	}
	e.wantError(adminToken, "POST", "/api/projects/p/serverlessEndpoints/ep/regenerateKeys", map[string]string{"keyType": "Tertiary"}, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "POST", "/api/projects/p/serverlessEndpoints/ep/regenerateKeys", map[string]string{"keyType": "Primary", "keyValue": "short"}, http.StatusBadRequest, "BadRequest")

	// Keys are never stored in plain text: not in the database files.
	final := e.keys(adminToken, "p", "ep")
	e.stop()
	for _, name := range []string{"maas.db", "maas.db-wal"} {
		b, err := os.ReadFile(filepath.Join(e.dir, name))
		if err != nil {
			continue
		}
		for _, key := range []string{final.PrimaryKey, final.SecondaryKey, k.PrimaryKey, adminToken} {
			if strings.Contains(string(b), key) {
				t.Fatalf("%s contains a plain key or token", name)
			}
		}
	}
}

func TestQuota(t *testing.T) {
	e := newEnv(t)
	e.addModel("tiny", "eastus2")
	e.addHubProject("h", "p", "eastus2")
	e.deploy(adminToken, "p", "ep", controlplane.CatalogPrefix+"tiny")
	var q apiv1.Quota
	e.call(adminToken, "GET", "/api/projects/p/serverlessEndpoints/ep/quota", nil, http.StatusOK, &q)
	if q.TokensPerMinute != 200000 || q.RequestsPerMinute != 1000 {
		t.Fatalf("default quota = %+v", q)
	}
	e.call(adminToken, "PUT", "/api/projects/p/serverlessEndpoints/ep/quota", map[string]int{"tokensPerMinute": 500000, "requestsPerMinute": 20}, http.StatusOK, &q)
	if se := e.holder.Load().Route("eastus2", "ep"); se.TokensPerMinute != 500000 || se.RequestsPerMinute != 20 {
		t.Fatalf("snapshot quota = %d/%d", se.TokensPerMinute, se.RequestsPerMinute)
	}
	e.wantError(adminToken, "PUT", "/api/projects/p/serverlessEndpoints/ep/quota", map[string]int{"tokensPerMinute": 0, "requestsPerMinute": 20}, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "PUT", "/api/projects/p/serverlessEndpoints/ep/quota", `{"tokensPerMinute":"many","requestsPerMinute":1}`, http.StatusBadRequest, "InvalidRequestContent")
	_, contrib := e.principal("contrib", "Contributor", "/")
	e.wantError(contrib, "PUT", "/api/projects/p/serverlessEndpoints/ep/quota", map[string]int{"tokensPerMinute": 1, "requestsPerMinute": 1}, http.StatusForbidden, "AuthorizationFailed")
}

func TestDomainURIAndRetiredModel(t *testing.T) {
	e := &env{t: t, dir: t.TempDir(), secret: make([]byte, 32), domain: "models.example.com"}
	e.start()
	e.addModel("tiny", "eastus2")
	e.addHubProject("h", "p", "eastus2")
	ep := e.deploy(adminToken, "p", "ep", controlplane.CatalogPrefix+"tiny")
	if ep.Properties.InferenceEndpoint.URI != "https://ep.eastus2.models.example.com" {
		t.Fatalf("uri = %q", ep.Properties.InferenceEndpoint.URI)
	}
	v := e.holder.Load().Version
	// Retiring the model takes its endpoints offline; they stay listed.
	e.call(adminToken, "PUT", "/api/models/tiny", map[string]any{"file": filepath.Join(e.dir, "tiny.gguf"), "regions": []string{"eastus2"},
		"pricing": map[string]float64{"inputPer1K": 0, "outputPer1K": 0}, "lifecycleStage": "Retired"}, http.StatusOK, nil)
	snap := e.holder.Load()
	if se := snap.Route("eastus2", "ep"); se == nil || se.Online || snap.Version <= v {
		t.Fatalf("after retiring: %+v (version %d, before %d)", se, snap.Version, v)
	}
	// Versions keep growing across restarts.
	v = e.holder.Load().Version
	e.restart()
	if e.holder.Load().Version <= v {
		t.Fatalf("version after restart %d, before %d", e.holder.Load().Version, v)
	}
}

// TestConcurrentCreatesKeepRules races creates of the same name in one
// region (different projects) and of the same model in one project: exactly
// one of each wins.
func TestConcurrentCreatesKeepRules(t *testing.T) {
	e := newEnv(t)
	const n = 6
	for i := range n {
		e.addModel(fmt.Sprintf("m%d", i), "eastus2")
		e.addHubProject("h", fmt.Sprintf("p%d", i), "eastus2")
	}
	var wg sync.WaitGroup
	codes := make(chan int, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			st, _ := e.do(adminToken, "PUT", fmt.Sprintf("/api/projects/p%d/serverlessEndpoints/same", i), endpointBody(fmt.Sprintf("m%d", i)))
			codes <- st
		}()
		go func() {
			defer wg.Done()
			st, _ := e.do(adminToken, "PUT", fmt.Sprintf("/api/projects/p0/serverlessEndpoints/x%d", i), endpointBody("m5"))
			codes <- st
		}()
	}
	wg.Wait()
	close(codes)
	created, conflicts := 0, 0
	for c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			conflicts++
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	// One endpoint named "same" in eastus2, and one m5 endpoint in p0 (p0's
	// "same" would serve m0, so the two rules never collide): 2 creates.
	if created != 2 || conflicts != 2*n-2 {
		t.Fatalf("%d created, %d conflicts; want 2 and %d", created, conflicts, 2*n-2)
	}
	if len(e.holder.Load().Endpoints) != 2 {
		t.Fatalf("snapshot has %d endpoints, want 2", len(e.holder.Load().Endpoints))
	}
}
