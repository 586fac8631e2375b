package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	apiv1 "maas/api/v1"
)

func pathEsc(s string) string { return url.PathEscape(s) }

// tagsFlag collects repeated --tag key=value flags.
type tagsFlag map[string]string

func (t tagsFlag) String() string { return "" }
func (t tagsFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("tag %q must be key=value", v)
	}
	t[k] = val
	return nil
}

func hubCreate(ctx context.Context, r *runner, args []string) error {
	fs := r.flags()
	location := fs.String("location", "", "region of the hub, e.g. eastus2 (required)")
	tags := tagsFlag{}
	fs.Var(tags, "tag", "tag key=value (repeatable)")
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return err
	}
	if *location == "" {
		fmt.Fprintln(r.io.Stderr, "maas hub create: --location is required")
		return ErrUsage
	}
	var h apiv1.Hub
	if err := r.client().Do(ctx, "PUT", "/api/hubs/"+pathEsc(pos[0]), apiv1.Hub{Location: *location, Tags: tags}, &h); err != nil {
		return err
	}
	return r.print(h, func(w *tabwriter.Writer) { hubTable(w, []apiv1.Hub{h}) })
}

func hubTable(w *tabwriter.Writer, hubs []apiv1.Hub) {
	fmt.Fprintln(w, "NAME\tLOCATION\tCREATED BY")
	for _, h := range hubs {
		by := ""
		if h.SystemData != nil {
			by = h.SystemData.CreatedBy
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", h.Name, h.Location, by)
	}
}

func hubList(ctx context.Context, r *runner, args []string) error {
	r.flags()
	if _, err := r.parse(args); err != nil {
		return err
	}
	var l apiv1.List[apiv1.Hub]
	if err := r.client().Do(ctx, "GET", "/api/hubs", nil, &l); err != nil {
		return err
	}
	return r.print(l.Value, func(w *tabwriter.Writer) { hubTable(w, l.Value) })
}

func hubShow(ctx context.Context, r *runner, args []string) error {
	r.flags()
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return err
	}
	var h apiv1.Hub
	if err := r.client().Do(ctx, "GET", "/api/hubs/"+pathEsc(pos[0]), nil, &h); err != nil {
		return err
	}
	return r.print(h, func(w *tabwriter.Writer) { hubTable(w, []apiv1.Hub{h}) })
}

func hubDelete(ctx context.Context, r *runner, args []string) error {
	r.flags()
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return err
	}
	if err := r.client().Do(ctx, "DELETE", "/api/hubs/"+pathEsc(pos[0]), nil, nil); err != nil {
		return err
	}
	return r.done("deleted hub %s", pos[0])
}

func projectTable(w *tabwriter.Writer, ps []apiv1.Project) {
	fmt.Fprintln(w, "NAME\tHUB\tLOCATION")
	for _, p := range ps {
		fmt.Fprintf(w, "%s\t%s\t%s\n", p.Name, p.Hub, p.Location)
	}
}

func projectCreate(ctx context.Context, r *runner, args []string) error {
	fs := r.flags()
	hub := fs.String("hub", "", "hub of the project (required)")
	tags := tagsFlag{}
	fs.Var(tags, "tag", "tag key=value (repeatable)")
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return err
	}
	if *hub == "" {
		fmt.Fprintln(r.io.Stderr, "maas project create: --hub is required")
		return ErrUsage
	}
	var p apiv1.Project
	if err := r.client().Do(ctx, "PUT", "/api/hubs/"+pathEsc(*hub)+"/projects/"+pathEsc(pos[0]), apiv1.Project{Tags: tags}, &p); err != nil {
		return err
	}
	return r.print(p, func(w *tabwriter.Writer) { projectTable(w, []apiv1.Project{p}) })
}

func projectList(ctx context.Context, r *runner, args []string) error {
	fs := r.flags()
	hub := fs.String("hub", "", "list only this hub's projects")
	if _, err := r.parse(args); err != nil {
		return err
	}
	path := "/api/projects"
	if *hub != "" {
		path = "/api/hubs/" + pathEsc(*hub) + "/projects"
	}
	var l apiv1.List[apiv1.Project]
	if err := r.client().Do(ctx, "GET", path, nil, &l); err != nil {
		return err
	}
	return r.print(l.Value, func(w *tabwriter.Writer) { projectTable(w, l.Value) })
}

// findProject looks a project up by name across hubs.
func findProject(ctx context.Context, r *runner, name string) (apiv1.Project, error) {
	var l apiv1.List[apiv1.Project]
	if err := r.client().Do(ctx, "GET", "/api/projects", nil, &l); err != nil {
		return apiv1.Project{}, err
	}
	for _, p := range l.Value {
		if p.Name == name {
			return p, nil
		}
	}
	return apiv1.Project{}, fmt.Errorf("project %q not found", name)
}

func projectShow(ctx context.Context, r *runner, args []string) error {
	r.flags()
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return err
	}
	p, err := findProject(ctx, r, pos[0])
	if err != nil {
		return err
	}
	return r.print(p, func(w *tabwriter.Writer) { projectTable(w, []apiv1.Project{p}) })
}

func projectDelete(ctx context.Context, r *runner, args []string) error {
	fs := r.flags()
	hub := fs.String("hub", "", "hub of the project (looked up when not given)")
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return err
	}
	if *hub == "" {
		p, err := findProject(ctx, r, pos[0])
		if err != nil {
			return err
		}
		*hub = p.Hub
	}
	if err := r.client().Do(ctx, "DELETE", "/api/hubs/"+pathEsc(*hub)+"/projects/"+pathEsc(pos[0]), nil, nil); err != nil {
		return err
	}
	return r.done("deleted project %s", pos[0])
}
