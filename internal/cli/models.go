package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	apiv1 "maas/api/v1"
)

func modelTable(w *tabwriter.Writer, ms []apiv1.Model) {
	fmt.Fprintln(w, "NAME\tCONTEXT\tINPUT $/1K\tOUTPUT $/1K\tSTAGE\tREADY\tREGIONS")
	for _, m := range ms {
		in, out := 0.0, 0.0
		if m.Pricing != nil {
			in, out = m.Pricing.InputPer1K, m.Pricing.OutputPer1K
		}
		fmt.Fprintf(w, "%s\t%d\t%g\t%g\t%s\t%v\t%s\n", m.Name, m.ContextLength, in, out, m.LifecycleStage, m.Ready, strings.Join(m.Regions, ","))
	}
}

func modelsList(ctx context.Context, r *runner, args []string) error {
	r.flags()
	if _, err := r.parse(args); err != nil {
		return err
	}
	var l apiv1.List[apiv1.Model]
	if err := r.client().Do(ctx, "GET", "/api/models", nil, &l); err != nil {
		return err
	}
	return r.print(l.Value, func(w *tabwriter.Writer) { modelTable(w, l.Value) })
}

func modelsShow(ctx context.Context, r *runner, args []string) error {
	r.flags()
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return err
	}
	var m apiv1.Model
	if err := r.client().Do(ctx, "GET", "/api/models/"+pathEsc(pos[0]), nil, &m); err != nil {
		return err
	}
	return r.print(m, func(w *tabwriter.Writer) {
		modelTable(w, []apiv1.Model{m})
		fmt.Fprintf(w, "\ncatalog id:\t%s\n", m.CatalogID)
		if m.File != "" {
			fmt.Fprintf(w, "file:\t%s\n", m.File)
		}
		if m.Upstream != "" {
			fmt.Fprintf(w, "upstream:\t%s\n", m.Upstream)
		}
		for _, wf := range m.Weights {
			fmt.Fprintf(w, "weights:\t%s (%s) %s\n", wf.File, wf.Quantization, wf.URL)
		}
	})
}

func modelsAdd(ctx context.Context, r *runner, args []string) error {
	fs := r.flags()
	file := fs.String("file", "", "absolute path of a GGUF file on the server")
	upstream := fs.String("upstream", "", "base URL of an OpenAI-compatible server instead of a file")
	upstreamModel := fs.String("upstream-model", "", "model name to send to the upstream")
	regions := fs.String("regions", "", "comma-separated regions that offer the model (required)")
	in := fs.Float64("input-per-1k", 0, "USD per 1,000 prompt tokens")
	out := fs.Float64("output-per-1k", 0, "USD per 1,000 completion tokens")
	ctxLen := fs.Int("context-length", 0, "context length in tokens (default 4096)")
	catalogID := fs.String("catalog-id", "", "catalog id (default azureml://registries/azureml/models/NAME)")
	stage := fs.String("lifecycle", "", "Preview, GenerallyAvailable, Legacy, Deprecated or Retired")
	sys := fs.Bool("system-role", false, "the model accepts the system role")
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return err
	}
	m := apiv1.Model{
		File: *file, Upstream: *upstream, UpstreamModel: *upstreamModel, ContextLength: *ctxLen,
		CatalogID: *catalogID, LifecycleStage: *stage, Pricing: &apiv1.Pricing{InputPer1K: *in, OutputPer1K: *out},
		Capabilities: &apiv1.Capabilities{SystemRole: *sys},
	}
	if m.File != "" {
		if m.File, err = filepath.Abs(m.File); err != nil {
			return fmt.Errorf("resolve --file: %w", err)
		}
	}
	for _, reg := range strings.Split(*regions, ",") {
		if reg = strings.TrimSpace(reg); reg != "" {
			m.Regions = append(m.Regions, reg)
		}
	}
	var got apiv1.Model
	if err := r.client().Do(ctx, "PUT", "/api/models/"+pathEsc(pos[0]), m, &got); err != nil {
		return err
	}
	return r.print(got, func(w *tabwriter.Writer) { modelTable(w, []apiv1.Model{got}) })
}

func modelsRemove(ctx context.Context, r *runner, args []string) error {
	r.flags()
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return err
	}
	if err := r.client().Do(ctx, "DELETE", "/api/models/"+pathEsc(pos[0]), nil, nil); err != nil {
		return err
	}
	return r.done("removed operator entry %s", pos[0])
}

func modelsImport(ctx context.Context, r *runner, args []string) error {
	r.flags()
	pos, err := r.parse(args, "NAME", "FILE.gguf")
	if err != nil {
		return err
	}
	path, err := filepath.Abs(pos[1])
	if err != nil {
		return fmt.Errorf("resolve %s: %w", pos[1], err)
	}
	var m apiv1.Model
	if err := r.client().Do(ctx, "POST", "/api/models/"+pathEsc(pos[0])+"/import", apiv1.ImportRequest{File: path}, &m); err != nil {
		return err
	}
	return r.print(m, func(w *tabwriter.Writer) { modelTable(w, []apiv1.Model{m}) })
}
