package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	apiv1 "maas/api/v1"
)

// DefaultDataDir is $MAAS_DATA_DIR, else $HOME/.maas, else ./.data.
func DefaultDataDir(getenv func(string) string) string {
	if d := getenv("MAAS_DATA_DIR"); d != "" {
		return d
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".maas")
	}
	return ".data"
}

func modelsPull(ctx context.Context, r *runner, args []string) error {
	fs := r.flags()
	dataDir := fs.String("data-dir", "", "the server's data directory (env MAAS_DATA_DIR; default $HOME/.maas)")
	fileName := fs.String("file", "", "which weight file to pull (default the first listed)")
	noImport := fs.Bool("no-import", false, "only download; do not register the file with the server")
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return err
	}
	dir := first(*dataDir, r.cfg.DataDir, DefaultDataDir(r.io.Getenv))
	c := r.client()
	var m apiv1.Model
	if err := c.Do(ctx, "GET", "/api/models/"+pathEsc(pos[0]), nil, &m); err != nil {
		return err
	}
	if len(m.Weights) == 0 {
		return fmt.Errorf("model %s lists no downloadable weights; use 'maas models import %s FILE.gguf'", m.Name, m.Name)
	}
	wf := m.Weights[0]
	if *fileName != "" {
		found := false
		for _, x := range m.Weights {
			if x.File == *fileName {
				wf, found = x, true
			}
		}
		if !found {
			return fmt.Errorf("model %s has no weight file %q", m.Name, *fileName)
		}
	}
	dest, err := filepath.Abs(filepath.Join(dir, "models", wf.File))
	if err != nil {
		return fmt.Errorf("resolve destination: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("create models dir: %w", err)
	}
	if _, err := os.Stat(dest); err == nil {
		fmt.Fprintf(r.io.Stderr, "%s already present\n", dest)
	} else {
		fmt.Fprintf(r.io.Stderr, "pulling %s\n  from %s\n  to   %s\n", m.Name, wf.URL, dest)
		if err := Download(ctx, nil, wf.URL, dest, wf.SizeBytes, wf.SHA256, ProgressBar(r.io.Stderr)); err != nil {
			return err
		}
	}
	if *noImport {
		return r.done("downloaded %s", dest)
	}
	var got apiv1.Model
	if err := c.Do(ctx, "POST", "/api/models/"+pathEsc(m.Name)+"/import", apiv1.ImportRequest{File: dest}, &got); err != nil {
		return fmt.Errorf("downloaded %s but the server refused it: %w", dest, err)
	}
	return r.print(got, func(w *tabwriter.Writer) { modelTable(w, []apiv1.Model{got}) })
}

// Download fetches url into dest. It writes to dest+".part" and resumes a
// partial file with an HTTP Range request; a server that ignores the range
// restarts the download. When size > 0 the result must have that many
// bytes; when sha256Hex is set it must have that digest, else the partial
// file is removed. progress (may be nil) gets bytes done and total (-1 when
// unknown).
func Download(ctx context.Context, hc *http.Client, url, dest string, size int64, sha256Hex string, progress func(done, total int64)) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	part := dest + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", part, err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("seek %s: %w", part, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0 && (size == 0 || have == size):
		// Already complete.
	case resp.StatusCode == http.StatusOK:
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("restart %s: %w", part, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("restart %s: %w", part, err)
		}
		have = 0
	default:
		return fmt.Errorf("download %s: server answered %s", url, resp.Status)
	}
	total := int64(-1)
	if size > 0 {
		total = size
	} else if resp.ContentLength >= 0 && resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		total = have + resp.ContentLength
	}
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		pw := &progressWriter{w: f, done: have, total: total, report: progress}
		if _, err := io.Copy(pw, resp.Body); err != nil {
			return fmt.Errorf("download %s: %w (run again to resume)", url, err)
		}
		pw.flush()
	}
	n, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("check %s: %w", part, err)
	}
	if size > 0 && n != size {
		return fmt.Errorf("download %s: got %d bytes, want %d (run again to resume)", url, n, size)
	}
	if sha256Hex != "" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("check %s: %w", part, err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return fmt.Errorf("hash %s: %w", part, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, sha256Hex) {
			f.Close()
			os.Remove(part)
			return fmt.Errorf("download %s: sha256 %s does not match the catalog's %s; the file was removed", url, got, sha256Hex)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", part, err)
	}
	if err := os.Rename(part, dest); err != nil {
		return fmt.Errorf("finish download: %w", err)
	}
	return nil
}

// progressWriter counts bytes and reports at most every 200 ms.
type progressWriter struct {
	w      io.Writer
	done   int64
	total  int64
	report func(done, total int64)
	last   time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.report != nil && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		p.report(p.done, p.total)
	}
	return n, err
}

func (p *progressWriter) flush() {
	if p.report != nil {
		p.report(p.done, p.total)
	}
}

// ProgressBar draws "[#####     ]  45.0%  1.2/2.4 GiB" on one line of w.
func ProgressBar(w io.Writer) func(done, total int64) {
	return func(done, total int64) {
		if total <= 0 {
			fmt.Fprintf(w, "\r  %s", human(done))
			return
		}
		frac := float64(done) / float64(total)
		bar := strings.Repeat("#", int(frac*30)) + strings.Repeat(" ", 30-int(frac*30))
		fmt.Fprintf(w, "\r  [%s] %5.1f%%  %s/%s", bar, 100*frac, human(done), human(total))
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), []string{"KiB", "MiB", "GiB", "TiB"}
	i := -1
	for v >= unit && i < len(suffix)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, suffix[i])
}
