package app

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	apiv1 "maas/api/v1"
	"maas/internal/testdata"
)

// TestReplicasSharePostgres runs two serve replicas on one PostgreSQL schema
// (and one Redis when reachable): an endpoint created through replica A is
// served by replica B once B refreshes its snapshot, with the same keys.
func TestReplicasSharePostgres(t *testing.T) {
	model := testdata.Phi3File(t, "tiny-phi3-q4_k_m.gguf")
	dsn := testPostgresSchema(t, "maas_replicas_")
	env := map[string]string{"MAAS_ADMIN_TOKEN": "rep-admin", "MAAS_SECRET_KEY": "shared-secret-of-the-installation",
		"MAAS_DATABASE_URL": dsn}

	urlA, _, stopA := startServe(t, t.TempDir(), env, "--refresh", "100ms")
	defer stopA()
	urlB, logB, stopB := startServe(t, t.TempDir(), env, "--refresh", "100ms")
	defer stopB()

	a := &upClient{base: urlA, token: "rep-admin"}
	ctx := context.Background()
	for _, step := range []struct {
		path string
		body any
	}{
		{"/api/models/tiny", map[string]any{"file": model, "regions": []string{"eastus2"},
			"pricing": map[string]float64{"inputPer1K": 0.00013, "outputPer1K": 0.00052}}},
		{"/api/hubs/h", map[string]any{"location": "eastus2"}},
		{"/api/hubs/h/projects/p", map[string]any{}},
		{"/api/projects/p/serverlessEndpoints/ep", map[string]any{"sku": map[string]string{"name": "Consumption"},
			"properties": map[string]any{"modelSettings": map[string]string{"modelId": "azureml://registries/azureml/models/tiny"}}}},
	} {
		if err := a.do(ctx, "PUT", step.path, step.body, nil); err != nil {
			t.Fatalf("PUT %s on replica A: %v", step.path, err)
		}
	}
	var keys apiv1.EndpointKeys
	if err := a.do(ctx, "POST", "/api/projects/p/serverlessEndpoints/ep/listKeys", nil, &keys); err != nil {
		t.Fatal(err)
	}
	call := func() (int, string) {
		req, _ := http.NewRequest("POST", urlB+"/serverless/eastus2/ep/chat/completions",
			strings.NewReader(`{"messages":[{"role":"user","content":"Hi"}],"max_tokens":2}`))
		req.Header.Set("api-key", keys.PrimaryKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := call()
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica B never served the endpoint created on A: %d %s\n%s", code, body, logB.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Regenerating the primary key on A shuts it out on B after the refresh.
	if err := a.do(ctx, "POST", "/api/projects/p/serverlessEndpoints/ep/regenerateKeys", map[string]string{"keyType": "Primary"}, nil); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, _ := call()
		if code == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old key still accepted by replica B: %d", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
