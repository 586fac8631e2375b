package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"
)

// psModel is one loaded model as GET /api/ps reports it.
type psModel struct {
	Name        string    `json:"name"`
	Path        string    `json:"path"`
	MemoryBytes int64     `json:"memory_bytes"`
	Active      int       `json:"active"`
	Queued      int       `json:"queued"`
	LoadedAt    time.Time `json:"loaded_at"`
	LastUsed    time.Time `json:"last_used"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// runPs lists the models a running server has loaded:
//
//	maas ps [--server URL] [--json]
//
// It reads GET {server}/api/ps, which answers {"models": [psModel...]}.
func runPs(ctx context.Context, args []string, env Env) error {
	fs := newFlags("ps", env)
	def := "http://127.0.0.1:8080"
	if v := env.Getenv("MAAS_URL"); v != "" {
		def = v
	}
	server := fs.String("server", def, "`URL` of a running 'maas serve' (env MAAS_URL)")
	asJSON := fs.Bool("json", false, "print the server's JSON unchanged")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	url := strings.TrimRight(*server, "/") + "/api/ps"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("build request for %s: %w", url, err)
	}
	if tok := env.Getenv("MAAS_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("no maas server reachable at %s (start one with 'maas serve' or pass --server): %w", *server, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if *asJSON {
		_, err := fmt.Fprintf(env.Stdout, "%s\n", strings.TrimSpace(string(body)))
		return err
	}
	var r struct {
		Models []psModel `json:"models"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("decode %s: %w", url, err)
	}
	return printPs(env.Stdout, r.Models, time.Now())
}

func printPs(w io.Writer, models []psModel, now time.Time) error {
	if len(models) == 0 {
		_, err := fmt.Fprintln(w, "no models loaded")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMEMORY\tACTIVE\tQUEUED\tLOADED\tIDLE UNLOAD")
	for _, m := range models {
		name := m.Name
		if name == "" {
			name = m.Path
		}
		until := "-"
		if !m.ExpiresAt.IsZero() {
			until = "in " + m.ExpiresAt.Sub(now).Round(time.Second).String()
		}
		loaded := "-"
		if !m.LoadedAt.IsZero() {
			loaded = now.Sub(m.LoadedAt).Round(time.Second).String() + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", name, humanBytes(m.MemoryBytes), m.Active, m.Queued, loaded, until)
	}
	if err := tw.Flush(); err != nil {
		return errors.Join(errors.New("write table"), err)
	}
	return nil
}

// humanBytes formats n as B, KiB, MiB or GiB.
func humanBytes(n int64) string {
	const k = 1024
	switch {
	case n >= k*k*k:
		return fmt.Sprintf("%.1f GiB", float64(n)/(k*k*k))
	case n >= k*k:
		return fmt.Sprintf("%.1f MiB", float64(n)/(k*k))
	case n >= k:
		return fmt.Sprintf("%.1f KiB", float64(n)/k)
	}
	return fmt.Sprintf("%d B", n)
}
