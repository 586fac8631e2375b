package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiv1 "maas/api/v1"
	"maas/internal/cli"
	"maas/internal/controlplane"
	"maas/internal/snapshot"
	"maas/internal/store/sqlite"
)

const admin = "cli-test-admin-token"

// server runs a control plane on SQLite for the CLI to talk to.
func server(t *testing.T) (*httptest.Server, *snapshot.Holder, string) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "maas.db"))
	if err != nil {
		t.Fatal(err)
	}
	holder := &snapshot.Holder{}
	cp, err := controlplane.New(ctx, st, holder, controlplane.Options{PublicURL: "http://maas.test", Secret: make([]byte, 32), ModelsDir: filepath.Join(dir, "models")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Bootstrap(ctx, admin); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", cp.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); st.Close() })
	return srv, holder, dir
}

// run runs one CLI command with MAAS_SERVER and MAAS_TOKEN set.
func run(t *testing.T, srv *httptest.Server, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		switch k {
		case "MAAS_SERVER":
			return srv.URL
		case "MAAS_TOKEN":
			if v, ok := env[k]; ok {
				return v
			}
			return admin
		case "HOME":
			return ""
		}
		return env[k]
	}
	err := cli.Run(context.Background(), args[0], args[1:], cli.IO{Stdout: &out, Stderr: &errb, Getenv: getenv})
	return out.String(), errb.String(), err
}

func mustRun(t *testing.T, srv *httptest.Server, env map[string]string, args ...string) string {
	t.Helper()
	out, stderr, err := run(t, srv, env, args...)
	if err != nil {
		t.Fatalf("maas %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return out
}

func TestEndToEnd(t *testing.T) {
	srv, holder, dir := server(t)
	model := filepath.Join(dir, "tiny.gguf")
	os.WriteFile(model, append([]byte("GGUF"), make([]byte, 32)...), 0o644)

	mustRun(t, srv, nil, "hub", "create", "hub1", "--location", "eastus2")
	out := mustRun(t, srv, nil, "hub", "list")
	if !strings.Contains(out, "NAME") || !strings.Contains(out, "hub1") || !strings.Contains(out, "eastus2") {
		t.Fatalf("hub list table:\n%s", out)
	}
	mustRun(t, srv, nil, "project", "create", "proj1", "--hub", "hub1")
	out = mustRun(t, srv, nil, "project", "list", "--output", "json")
	var projects []apiv1.Project
	if err := json.Unmarshal([]byte(out), &projects); err != nil || len(projects) != 1 || projects[0].Location != "eastus2" {
		t.Fatalf("project list json %q: %v", out, err)
	}
	mustRun(t, srv, nil, "models", "add", "tiny", "--file", model, "--regions", "eastus2", "--input-per-1k", "0.00013", "--output-per-1k", "0.00052")
	out = mustRun(t, srv, nil, "models", "list")
	if !strings.Contains(out, "Phi-3-mini-4k-instruct") || !strings.Contains(out, "tiny") {
		t.Fatalf("models list:\n%s", out)
	}

	// endpoint create from the az-style YAML file.
	yml := filepath.Join(dir, "endpoint.yml")
	os.WriteFile(yml, []byte("name: my-endpoint\nmodel_id: azureml://registries/azureml/models/tiny\n"), 0o644)
	out = mustRun(t, srv, map[string]string{"MAAS_PROJECT": "proj1"}, "endpoint", "create", "-f", yml)
	if !strings.Contains(out, "my-endpoint") || !strings.Contains(out, "Succeeded") || !strings.Contains(out, "http://maas.test/serverless/eastus2/my-endpoint") {
		t.Fatalf("endpoint create:\n%s", out)
	}
	out = mustRun(t, srv, nil, "endpoint", "get-credentials", "my-endpoint", "--project", "proj1", "--output", "json")
	var keys apiv1.EndpointKeys
	if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys.PrimaryKey) != 32 {
		t.Fatalf("get-credentials %q: %v", out, err)
	}
	if holder.Load().Authenticate(keys.PrimaryKey) == nil {
		t.Fatal("listed key does not open the endpoint")
	}
	out = mustRun(t, srv, nil, "endpoint", "regenerate-keys", "my-endpoint", "--project", "proj1", "--key-type", "primary", "--output", "json")
	var keys2 apiv1.EndpointKeys
	json.Unmarshal([]byte(out), &keys2)
	if keys2.PrimaryKey == keys.PrimaryKey || keys2.SecondaryKey != keys.SecondaryKey || holder.Load().Authenticate(keys.PrimaryKey) != nil {
		t.Fatalf("regenerate-keys: %+v -> %+v", keys, keys2)
	}
	out = mustRun(t, srv, nil, "endpoint", "list", "--project", "proj1")
	if !strings.Contains(out, "my-endpoint") || !strings.Contains(out, "Online") {
		t.Fatalf("endpoint list:\n%s", out)
	}
	out = mustRun(t, srv, nil, "endpoint", "quota", "my-endpoint", "--project", "proj1", "--tokens-per-minute", "1234")
	if !strings.Contains(out, "1234") || !strings.Contains(out, "1000") {
		t.Fatalf("quota:\n%s", out)
	}
	// --name/--model flags; duplicate model in the project is refused with the server's message.
	_, _, err := run(t, srv, nil, "endpoint", "create", "--name", "second", "--model", "tiny", "--project", "proj1")
	var ae *cli.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict {
		t.Fatalf("second endpoint for the same model: %v", err)
	}

	// Principals and roles: a Reader cannot read keys.
	out = mustRun(t, srv, nil, "principal", "create", "alice", "--output", "json")
	var alice apiv1.Principal
	if err := json.Unmarshal([]byte(out), &alice); err != nil || alice.Token == "" {
		t.Fatalf("principal create %q: %v", out, err)
	}
	mustRun(t, srv, nil, "role", "assign", "--principal", alice.ID, "--role", "Reader", "--scope", "/hubs/hub1/projects/proj1", "--id", "alice-reader")
	out = mustRun(t, srv, nil, "role", "list")
	if !strings.Contains(out, "alice-reader") || !strings.Contains(out, "Reader") {
		t.Fatalf("role list:\n%s", out)
	}
	aliceEnv := map[string]string{"MAAS_TOKEN": alice.Token}
	mustRun(t, srv, aliceEnv, "endpoint", "show", "my-endpoint", "--project", "proj1")
	if _, _, err := run(t, srv, aliceEnv, "endpoint", "get-credentials", "my-endpoint", "--project", "proj1"); !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		t.Fatalf("reader get-credentials: %v", err)
	}
	mustRun(t, srv, nil, "role", "delete", "alice-reader")
	mustRun(t, srv, nil, "principal", "delete", alice.ID)

	out = mustRun(t, srv, nil, "usage", "--project", "proj1")
	if !strings.Contains(out, "TOTAL") {
		t.Fatalf("usage:\n%s", out)
	}
	out = mustRun(t, srv, nil, "usage", "--project", "proj1", "--csv", "--group-by", "day")
	if !strings.HasPrefix(out, "day,requests") {
		t.Fatalf("usage csv:\n%s", out)
	}

	mustRun(t, srv, nil, "endpoint", "delete", "my-endpoint", "--project", "proj1")
	mustRun(t, srv, nil, "project", "delete", "proj1")
	mustRun(t, srv, nil, "hub", "delete", "hub1")
	if out := mustRun(t, srv, nil, "hub", "list", "--output", "json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("hubs after delete: %s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	srv, _, dir := server(t)
	for _, args := range [][]string{
		{"hub"}, {"hub", "fly"}, {"hub", "create"}, {"hub", "create", "h"}, {"endpoint", "list"},
		{"endpoint", "regenerate-keys", "x", "--project", "p", "--key-type", "tertiary"},
		{"hub", "list", "--output", "xml"}, {"role", "assign", "--principal", "x"},
	} {
		if _, _, err := run(t, srv, nil, args...); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("maas %s: err %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	if _, _, err := run(t, srv, map[string]string{"MAAS_TOKEN": "bad"}, "hub", "list"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad token: %v", err)
	}
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("name: x\nmodel: y\n"), 0o644)
	if _, _, err := run(t, srv, nil, "endpoint", "create", "-f", bad, "--project", "p"); err == nil || !strings.Contains(err.Error(), "model") {
		t.Fatalf("unknown YAML key: %v", err)
	}
}

func TestConfigFile(t *testing.T) {
	srv, _, dir := server(t)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("server: "+srv.URL+"\ntoken: "+admin+"\n"), 0o600)
	var out bytes.Buffer
	getenv := func(k string) string {
		if k == "MAAS_CONFIG" {
			return cfg
		}
		return ""
	}
	if err := cli.Run(context.Background(), "models", []string{"show", "Phi-3.5-MoE-instruct"}, cli.IO{Stdout: &out, Stderr: &out, Getenv: getenv}); err != nil {
		t.Fatalf("with config file: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "azureml://registries/azureml/models/Phi-3.5-MoE-instruct") {
		t.Fatalf("models show:\n%s", out.String())
	}
}
