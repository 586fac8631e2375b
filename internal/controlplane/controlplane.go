// Package controlplane is the management side of maas: catalog, hubs,
// projects, serverless endpoints, keys, principals, roles, quotas and usage
// queries, served as a REST API under /api. After every change it rebuilds
// a snapshot.Config and publishes it in the snapshot.Holder that the data
// plane reads.
//
// It imports api/v1, internal/store, internal/snapshot and the standard
// library. It never imports internal/gateway or the engine (except
// internal/engine/gguf for metadata); internal/app wires it.
package controlplane

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"maas/internal/snapshot"
	"maas/internal/store"
)

// Default limits of a serverless endpoint (spec section 2).
const (
	DefaultTokensPerMinute   = 200_000
	DefaultRequestsPerMinute = 1_000
)

// Options configure a ControlPlane.
type Options struct {
	// PublicURL is the base URL clients use, e.g. "https://maas.example.com";
	// endpoint URIs are <PublicURL>/serverless/<region>/<name>.
	PublicURL string
	// Domain, when set, makes endpoint URIs https://<name>.<region>.<Domain>.
	Domain string
	// Regions are offered in addition to the built-in Azure regions.
	Regions []string
	// Secret is the 32-byte AES-256 key that seals endpoint keys at rest
	// (see LoadSecret). Required.
	Secret []byte
	// ModelsDir holds downloaded built-in weight files (<data dir>/models).
	ModelsDir string
	// Checker validates weights before an endpoint goes online; nil means
	// MagicChecker.
	Checker WeightsChecker
	// MaxBodyBytes limits request bodies; 0 means 1 MiB.
	MaxBodyBytes int64
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives server-side errors; nil discards them.
	Logger *slog.Logger
}

// ControlPlane serves the management API and publishes snapshots.
type ControlPlane struct {
	st     store.Store
	holder *snapshot.Holder
	opts   Options
	aead   cipher.AEAD

	pubMu   sync.Mutex // serialises snapshot rebuilds
	version int64      // guarded by pubMu
}

// New builds a ControlPlane over st and publishes the first snapshot from
// the store into holder.
func New(ctx context.Context, st store.Store, holder *snapshot.Holder, opts Options) (*ControlPlane, error) {
	if st == nil || holder == nil {
		return nil, errors.New("new control plane: store and holder are required")
	}
	aead, err := newSealer(opts.Secret)
	if err != nil {
		return nil, fmt.Errorf("new control plane: %w", err)
	}
	if opts.PublicURL == "" {
		opts.PublicURL = "http://127.0.0.1:8080"
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if opts.Checker == nil {
		opts.Checker = MagicChecker{}
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for i, r := range opts.Regions {
		opts.Regions[i] = strings.ToLower(strings.TrimSpace(r))
	}
	// Versions start at the start time in microseconds so that they keep
	// growing across restarts.
	cp := &ControlPlane{st: st, holder: holder, opts: opts, aead: aead, version: opts.Now().UnixMicro()}
	if err := cp.Publish(ctx); err != nil {
		return nil, fmt.Errorf("new control plane: %w", err)
	}
	return cp, nil
}

func (cp *ControlPlane) now() time.Time { return cp.opts.Now().UTC() }

// Handler returns the REST API; mount it at "/api/".
func (cp *ControlPlane) Handler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, f handlerFunc) { mux.Handle(pattern, cp.wrap(f)) }

	h("GET /api/models", cp.listModels)
	h("GET /api/models/{name}", cp.getModel)
	h("PUT /api/models/{name}", cp.putModel)
	h("DELETE /api/models/{name}", cp.deleteModel)
	h("POST /api/models/{name}/import", cp.importModel)

	h("GET /api/regions", cp.listRegions)

	h("GET /api/hubs", cp.listHubs)
	h("GET /api/hubs/{hub}", cp.getHub)
	h("PUT /api/hubs/{hub}", cp.putHub)
	h("DELETE /api/hubs/{hub}", cp.deleteHub)

	h("GET /api/projects", cp.listAllProjects)
	h("GET /api/hubs/{hub}/projects", cp.listProjects)
	h("GET /api/hubs/{hub}/projects/{project}", cp.getProject)
	h("PUT /api/hubs/{hub}/projects/{project}", cp.putProject)
	h("DELETE /api/hubs/{hub}/projects/{project}", cp.deleteProject)

	const ep = "/api/projects/{project}/serverlessEndpoints"
	h("GET "+ep, cp.listEndpoints)
	h("GET "+ep+"/{name}", cp.getEndpoint)
	h("PUT "+ep+"/{name}", cp.putEndpoint)
	h("PATCH "+ep+"/{name}", cp.patchEndpoint)
	h("DELETE "+ep+"/{name}", cp.deleteEndpoint)
	h("POST "+ep+"/{name}/listKeys", cp.listKeys)
	h("POST "+ep+"/{name}/regenerateKeys", cp.regenerateKeys)
	h("POST "+ep+"/{name}/getStatus", cp.getStatus)
	h("GET "+ep+"/{name}/quota", cp.getQuota)
	h("PUT "+ep+"/{name}/quota", cp.putQuota)

	h("GET /api/projects/{project}/usage", cp.getUsage)

	h("GET /api/principals", cp.listPrincipals)
	h("POST /api/principals", cp.createPrincipal)
	h("GET /api/principals/{id}", cp.getPrincipal)
	h("DELETE /api/principals/{id}", cp.deletePrincipal)

	h("GET /api/roleAssignments", cp.listRoleAssignments)
	h("GET /api/roleAssignments/{id}", cp.getRoleAssignment)
	h("PUT /api/roleAssignments/{id}", cp.putRoleAssignment)
	h("DELETE /api/roleAssignments/{id}", cp.deleteRoleAssignment)

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{"GET", "PUT", "PATCH", "POST", "DELETE"} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); m != r.Method && pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
			return
		}
		writeError(w, errorf(http.StatusNotFound, "NotFound", "no route for %s %s", r.Method, r.URL.Path))
	})
	return mux
}
