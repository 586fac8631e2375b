package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"maas/internal/cli"
	"maas/internal/controlplane"
	"maas/internal/snapshot"
	"maas/internal/store/postgres"
	"maas/internal/store/sqlite"
	"maas/internal/store/sqlstore"
)

// runServe runs the platform in one process: the control plane REST API on
// SQLite (or PostgreSQL with --database) under /api/, and the data plane
// that mountDataPlane adds.
func runServe(ctx context.Context, args []string, env Env) error {
	fs := newFlags("serve", env)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	dataDir := fs.String("data-dir", "", "data directory: database, secret, models (env MAAS_DATA_DIR; default $HOME/.maas)")
	publicURL := fs.String("public-url", "", "base URL clients use (default http://<addr>)")
	domain := fs.String("domain", "", "serve endpoints also as https://<name>.<region>.<domain>")
	regions := fs.String("regions", "", "extra regions to offer, comma-separated")
	database := fs.String("database", "", "PostgreSQL URL (postgres://...) instead of the embedded SQLite (env MAAS_DATABASE_URL)")
	dpFlags := addDataPlaneFlags(fs)
	refresh := fs.Duration("refresh", 0, "re-read endpoints and keys from the database this often, for replicas sharing PostgreSQL (default 5s with --database, off with SQLite)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "maas serve: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	dir := *dataDir
	if dir == "" {
		dir = cli.DefaultDataDir(env.Getenv)
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, nil))
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	secret, err := controlplane.LoadSecret(dir, env.Getenv("MAAS_SECRET_KEY"))
	if err != nil {
		return err
	}
	var st *sqlstore.DB
	if dsn := firstNonEmpty(*database, env.Getenv("MAAS_DATABASE_URL")); dsn != "" {
		st, err = postgres.Open(ctx, dsn)
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(dir, "maas.db"))
	}
	if err != nil {
		return err
	}
	defer st.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	base := *publicURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	var extra []string
	for _, r := range strings.Split(*regions, ",") {
		if r = strings.TrimSpace(r); r != "" {
			extra = append(extra, r)
		}
	}
	holder := &snapshot.Holder{}
	cp, err := controlplane.New(ctx, st, holder, controlplane.Options{
		PublicURL: base, Domain: *domain, Regions: extra, Secret: secret,
		ModelsDir: filepath.Join(dir, "models"), Checker: weightsChecker(), Logger: logger,
	})
	if err != nil {
		return err
	}
	token, err := cp.Bootstrap(ctx, env.Getenv("MAAS_ADMIN_TOKEN"))
	if err != nil {
		return err
	}
	if token != "" {
		fmt.Fprintf(env.Stderr, "Created the Owner principal \"admin\". Its token is shown only this once:\n\n    %s\n\n"+
			"Use it with: export MAAS_TOKEN=%s\n\n", token, token)
	}

	mux := http.NewServeMux()
	mux.Handle("/api/", cp.Handler())
	handler, stopDP, err := mountDataPlane(ctx, mux, holder, dataPlaneDeps{Store: st, DataDir: dir, Env: env,
		Logger: logger, Domain: *domain, Opts: dpFlags, Authorize: cp.Authorize})
	if err != nil {
		return fmt.Errorf("mount data plane: %w", err)
	}
	every := *refresh
	if every == 0 && firstNonEmpty(*database, env.Getenv("MAAS_DATABASE_URL")) != "" {
		every = 5 * time.Second
	}
	if every > 0 {
		go republish(ctx, cp, every, logger)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(env.Stderr, "maas serving on %s (data dir %s)\n", base, dir)

	select {
	case err = <-errc:
	case <-ctx.Done():
		shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shutCtx)
		cancel()
	}
	stopDP()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// republish rebuilds the snapshot from the store every interval, so that a
// change made through another replica reaches this one's data plane.
func republish(ctx context.Context, cp *controlplane.ControlPlane, every time.Duration, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := cp.Publish(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("refresh endpoints from the database", "error", err)
			}
		}
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
