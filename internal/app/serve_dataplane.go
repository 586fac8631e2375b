package app

import (
	"context"
	"log/slog"
	"net/http"

	"maas/internal/controlplane"
	"maas/internal/snapshot"
	"maas/internal/store"
)

// dataPlaneDeps is what the data plane may need from serve.
type dataPlaneDeps struct {
	Store   store.Store // AppendUsage for the usage ledger
	DataDir string
	Env     Env
	Logger  *slog.Logger
}

// mountDataPlane is where the gateway (/serverless/..., /v1/...), the
// engine backend, the usage ledger and the web playground are mounted on
// mux. They read endpoints, keys and limits from holder, which the control
// plane keeps current. The returned function stops them (flushing usage)
// after the HTTP server has shut down.
//
// LEAD: replace this no-op with the real wiring.
func mountDataPlane(ctx context.Context, mux *http.ServeMux, holder *snapshot.Holder, deps dataPlaneDeps) (stop func(), err error) {
	return func() {}, nil
}

// weightsChecker validates weight files before endpoints go online and on
// import: the GGUF header must parse and match the catalog entry's
// architecture and shape.
func weightsChecker() controlplane.WeightsChecker { return controlplane.GGUFChecker{} }
