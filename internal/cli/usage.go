package cli

import (
	"context"
	"fmt"
	"net/url"
	"text/tabwriter"

	apiv1 "maas/api/v1"
)

// usageCmd prints a project's tokens and cost: maas usage --project P.
func usageCmd(ctx context.Context, r *runner, args []string) error {
	r.name = "usage"
	fs := r.flags()
	project := fs.String("project", "", "project (env MAAS_PROJECT)")
	endpoint := fs.String("endpoint", "", "only this endpoint")
	from := fs.String("from", "", "start (RFC 3339 time or YYYY-MM-DD), inclusive")
	to := fs.String("to", "", "end (RFC 3339 time or YYYY-MM-DD), exclusive")
	groupBy := fs.String("group-by", "endpoint", "endpoint, day or model")
	csv := fs.Bool("csv", false, "print CSV")
	if _, err := r.parse(args); err != nil {
		return err
	}
	proj, err := r.project(*project)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"endpoint": *endpoint, "from": *from, "to": *to, "groupBy": *groupBy} {
		if v != "" {
			q.Set(k, v)
		}
	}
	path := "/api/projects/" + pathEsc(proj) + "/usage?" + q.Encode()
	if *csv {
		b, err := r.client().Raw(ctx, path, "text/csv")
		if err != nil {
			return err
		}
		_, err = r.io.Stdout.Write(b)
		return err
	}
	var rep apiv1.UsageReport
	if err := r.client().Do(ctx, "GET", path, nil, &rep); err != nil {
		return err
	}
	return r.print(rep, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "%s\tREQUESTS\tPROMPT\tCOMPLETION\tTOTAL TOKENS\tCOST (USD)\n", upper(rep.GroupBy))
		var t apiv1.UsageRow
		for _, x := range rep.Value {
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%.6f\n", x.Key, x.Requests, x.PromptTokens, x.CompletionTokens, x.TotalTokens, x.TotalCost)
			t.Requests += x.Requests
			t.PromptTokens += x.PromptTokens
			t.CompletionTokens += x.CompletionTokens
			t.TotalTokens += x.TotalTokens
			t.TotalCost += x.TotalCost
		}
		fmt.Fprintf(w, "TOTAL\t%d\t%d\t%d\t%d\t%.6f\n", t.Requests, t.PromptTokens, t.CompletionTokens, t.TotalTokens, t.TotalCost)
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
