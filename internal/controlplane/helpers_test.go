package controlplane_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	apiv1 "maas/api/v1"
	"maas/internal/controlplane"
	"maas/internal/snapshot"
	"maas/internal/store"
	"maas/internal/store/sqlite"
)

const adminToken = "test-admin-token-0123456789"

// env is a control plane on SQLite in a temp dir behind an httptest server.
type env struct {
	t      *testing.T
	dir    string
	st     *storeCloser
	holder *snapshot.Holder
	cp     *controlplane.ControlPlane
	srv    *httptest.Server
	secret []byte
	check  controlplane.WeightsChecker
	domain string
}

type storeCloser struct{ store.Store }

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with a weights checker (nil: the default).
func newEnvWith(t *testing.T, check controlplane.WeightsChecker) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), secret: bytes.Repeat([]byte{7}, 32), check: check}
	e.start()
	return e
}

// start opens the store in e.dir and serves a fresh control plane over it.
func (e *env) start() {
	t := e.t
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(e.dir, "maas.db"))
	if err != nil {
		t.Fatal(err)
	}
	e.st = &storeCloser{s}
	e.holder = &snapshot.Holder{}
	e.cp, err = controlplane.New(ctx, s, e.holder, controlplane.Options{
		PublicURL: "http://maas.test", Secret: e.secret, ModelsDir: filepath.Join(e.dir, "models"),
		Regions: []string{"localdev"}, Checker: e.check, Domain: e.domain,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cp.Bootstrap(ctx, adminToken); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", e.cp.Handler())
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.stop)
}

func (e *env) stop() {
	if e.srv != nil {
		e.srv.Close()
		e.st.Close()
		e.srv = nil
	}
}

// restart stops the server and starts a new control plane on the same data.
func (e *env) restart() {
	e.stop()
	e.start()
}

// do sends a request with a bearer token and a JSON (or raw string) body.
func (e *env) do(token, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, out
}

// call is do that checks the status and decodes the answer into out.
func (e *env) call(token, method, path string, body any, want int, out any) {
	e.t.Helper()
	status, b := e.do(token, method, path, body)
	if status != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// wantError checks an error answer's status and code.
func (e *env) wantError(token, method, path string, body any, status int, code string) apiv1.ErrorBody {
	e.t.Helper()
	got, b := e.do(token, method, path, body)
	var er apiv1.ErrorResponse
	if err := json.Unmarshal(b, &er); err != nil {
		e.t.Fatalf("%s %s: error body %s: %v", method, path, b, err)
	}
	if got != status || (code != "" && er.Error.Code != code) {
		e.t.Fatalf("%s %s: got %d %q (%s), want %d %q", method, path, got, er.Error.Code, er.Error.Message, status, code)
	}
	if er.Error.Message == "" {
		e.t.Fatalf("%s %s: error without message", method, path)
	}
	return er.Error
}

// fakeGGUF writes a small file that starts with the GGUF magic.
func (e *env) fakeGGUF(name string) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, append([]byte("GGUF"), make([]byte, 60)...), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// addModel registers an operator model served from a fake GGUF file.
func (e *env) addModel(name string, regions ...string) apiv1.Model {
	e.t.Helper()
	var m apiv1.Model
	e.call(adminToken, "PUT", "/api/models/"+name, map[string]any{
		"file": e.fakeGGUF(name + ".gguf"), "regions": regions,
		"pricing": map[string]float64{"inputPer1K": 0.00013, "outputPer1K": 0.00052},
	}, http.StatusCreated, &m)
	return m
}

// addHubProject creates hub and project in region as the admin.
func (e *env) addHubProject(hub, project, region string) {
	e.t.Helper()
	if st, _ := e.do(adminToken, "GET", "/api/hubs/"+hub, nil); st == http.StatusNotFound {
		e.call(adminToken, "PUT", "/api/hubs/"+hub, map[string]any{"location": region}, http.StatusCreated, nil)
	}
	e.call(adminToken, "PUT", "/api/hubs/"+hub+"/projects/"+project, map[string]any{}, http.StatusCreated, nil)
}

func endpointBody(modelID string) map[string]any {
	return map[string]any{
		"sku":        map[string]any{"name": "Consumption"},
		"properties": map[string]any{"modelSettings": map[string]any{"modelId": modelID}, "authMode": "Key"},
	}
}

// deploy creates an endpoint and returns its body (status must be 201).
func (e *env) deploy(token, project, name, modelID string) apiv1.ServerlessEndpoint {
	e.t.Helper()
	var ep apiv1.ServerlessEndpoint
	e.call(token, "PUT", "/api/projects/"+project+"/serverlessEndpoints/"+name, endpointBody(modelID), http.StatusCreated, &ep)
	return ep
}

func (e *env) keys(token, project, name string) apiv1.EndpointKeys {
	e.t.Helper()
	var k apiv1.EndpointKeys
	e.call(token, "POST", "/api/projects/"+project+"/serverlessEndpoints/"+name+"/listKeys", nil, http.StatusOK, &k)
	return k
}

// principal creates a principal and assigns it role at scope; returns its token.
func (e *env) principal(name, role, scope string) (id, token string) {
	e.t.Helper()
	var p apiv1.Principal
	e.call(adminToken, "POST", "/api/principals", map[string]any{"name": name}, http.StatusCreated, &p)
	if role != "" {
		e.call(adminToken, "PUT", "/api/roleAssignments/ra-"+name, map[string]any{
			"principalId": p.ID, "roleDefinitionName": role, "scope": scope,
		}, http.StatusCreated, nil)
	}
	return p.ID, p.Token
}
