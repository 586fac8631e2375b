package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"text/tabwriter"

	apiv1 "maas/api/v1"
)

func principalCreate(ctx context.Context, r *runner, args []string) error {
	r.flags()
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return err
	}
	var p apiv1.Principal
	if err := r.client().Do(ctx, "POST", "/api/principals", apiv1.Principal{Name: pos[0]}, &p); err != nil {
		return err
	}
	return r.print(p, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "ID\tNAME\tTOKEN (shown once)")
		fmt.Fprintf(w, "%s\t%s\t%s\n", p.ID, p.Name, p.Token)
	})
}

func principalList(ctx context.Context, r *runner, args []string) error {
	r.flags()
	if _, err := r.parse(args); err != nil {
		return err
	}
	var l apiv1.List[apiv1.Principal]
	if err := r.client().Do(ctx, "GET", "/api/principals", nil, &l); err != nil {
		return err
	}
	return r.print(l.Value, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "ID\tNAME\tCREATED")
		for _, p := range l.Value {
			fmt.Fprintf(w, "%s\t%s\t%s\n", p.ID, p.Name, p.CreatedAt.Format("2006-01-02 15:04"))
		}
	})
}

func principalDelete(ctx context.Context, r *runner, args []string) error {
	r.flags()
	pos, err := r.parse(args, "ID")
	if err != nil {
		return err
	}
	if err := r.client().Do(ctx, "DELETE", "/api/principals/"+pathEsc(pos[0]), nil, nil); err != nil {
		return err
	}
	return r.done("deleted principal %s", pos[0])
}

func roleTable(w *tabwriter.Writer, as []apiv1.RoleAssignment) {
	fmt.Fprintln(w, "ID\tPRINCIPAL\tROLE\tSCOPE")
	for _, a := range as {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", a.ID, a.PrincipalID, a.RoleDefinitionName, a.Scope)
	}
}

func roleAssign(ctx context.Context, r *runner, args []string) error {
	fs := r.flags()
	principal := fs.String("principal", "", "principal id (required)")
	role := fs.String("role", "", "Owner, Contributor, \"Azure AI Developer\" or Reader (required)")
	scope := fs.String("scope", "", "/, /hubs/HUB or /hubs/HUB/projects/PROJECT (required)")
	id := fs.String("id", "", "assignment id (default random)")
	if _, err := r.parse(args); err != nil {
		return err
	}
	if *principal == "" || *role == "" || *scope == "" {
		fmt.Fprintln(r.io.Stderr, "maas role assign: --principal, --role and --scope are required")
		return ErrUsage
	}
	if *id == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("random id: %w", err)
		}
		*id = "ra-" + hex.EncodeToString(b)
	}
	var a apiv1.RoleAssignment
	body := apiv1.RoleAssignment{PrincipalID: *principal, RoleDefinitionName: *role, Scope: *scope}
	if err := r.client().Do(ctx, "PUT", "/api/roleAssignments/"+pathEsc(*id), body, &a); err != nil {
		return err
	}
	return r.print(a, func(w *tabwriter.Writer) { roleTable(w, []apiv1.RoleAssignment{a}) })
}

func roleList(ctx context.Context, r *runner, args []string) error {
	principal := r.flags().String("principal", "", "only this principal's assignments")
	if _, err := r.parse(args); err != nil {
		return err
	}
	path := "/api/roleAssignments"
	if *principal != "" {
		path += "?principalId=" + pathEsc(*principal)
	}
	var l apiv1.List[apiv1.RoleAssignment]
	if err := r.client().Do(ctx, "GET", path, nil, &l); err != nil {
		return err
	}
	return r.print(l.Value, func(w *tabwriter.Writer) { roleTable(w, l.Value) })
}

func roleDelete(ctx context.Context, r *runner, args []string) error {
	r.flags()
	pos, err := r.parse(args, "ID")
	if err != nil {
		return err
	}
	if err := r.client().Do(ctx, "DELETE", "/api/roleAssignments/"+pathEsc(pos[0]), nil, nil); err != nil {
		return err
	}
	return r.done("deleted role assignment %s", pos[0])
}
