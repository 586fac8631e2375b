package controlplane

import (
	"errors"
	"net/http"
	"strings"

	apiv1 "maas/api/v1"
	"maas/internal/store"
)

func projectBody(p store.Project) apiv1.Project {
	return apiv1.Project{ID: projectScope(p.Hub, p.Name), Name: p.Name, Hub: p.Hub, Location: p.Region, Tags: p.Tags, SystemData: systemData(p.Meta)}
}

func (cp *ControlPlane) listProjectsIn(w http.ResponseWriter, r *http.Request, c *caller, hub string) error {
	ps, err := cp.st.ListProjects(r.Context(), hub)
	if err != nil {
		return err
	}
	out := []apiv1.Project{}
	for _, p := range ps {
		if c.sees(projectScope(p.Hub, p.Name)) {
			out = append(out, projectBody(p))
		}
	}
	return writeJSON(w, http.StatusOK, apiv1.List[apiv1.Project]{Value: out})
}

func (cp *ControlPlane) listAllProjects(w http.ResponseWriter, r *http.Request, c *caller) error {
	return cp.listProjectsIn(w, r, c, "")
}

func (cp *ControlPlane) listProjects(w http.ResponseWriter, r *http.Request, c *caller) error {
	if _, err := cp.hubFor(r, c, r.PathValue("hub")); err != nil {
		return err
	}
	return cp.listProjectsIn(w, r, c, r.PathValue("hub"))
}

// projectFor loads a project the caller can see; when hub is not "" the
// project must belong to it.
func (cp *ControlPlane) projectFor(r *http.Request, c *caller, hub, name string) (store.Project, error) {
	p, err := cp.st.GetProject(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && ((hub != "" && p.Hub != hub) || !c.sees(projectScope(p.Hub, p.Name)))) {
		return p, errorf(http.StatusNotFound, "NotFound", "project %q not found", name)
	}
	return p, err
}

func (cp *ControlPlane) getProject(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := cp.projectFor(r, c, r.PathValue("hub"), r.PathValue("project"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, projectBody(p))
}

func (cp *ControlPlane) putProject(w http.ResponseWriter, r *http.Request, c *caller) error {
	hubName, name := r.PathValue("hub"), r.PathValue("project")
	if err := checkName("project", name); err != nil {
		return err
	}
	var body apiv1.Project
	if err := decode(r, &body, false); err != nil {
		return err
	}
	hub, err := cp.hubFor(r, c, hubName)
	if err != nil {
		return err
	}
	if body.Location != "" && !strings.EqualFold(body.Location, hub.Region) {
		return badRequest("a project takes its hub's region (%s), not %q", hub.Region, body.Location)
	}
	if body.Hub != "" && body.Hub != hubName {
		return badRequest("field \"hub\" (%q) does not match the hub in the path (%q)", body.Hub, hubName)
	}
	old, err := cp.st.GetProject(r.Context(), name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := c.require(actProjectCreate, hubScope(hubName)); err != nil {
			return err
		}
	case err != nil:
		return err
	case old.Hub != hubName:
		return errorf(http.StatusConflict, "Conflict", "project name %q is already used in this installation", name)
	default:
		if err := c.require(actProjectWrite, projectScope(hubName, name)); err != nil {
			return err
		}
	}
	now := cp.now()
	p := store.Project{Name: name, Hub: hubName, Region: hub.Region, Tags: body.Tags,
		Meta: store.Meta{CreatedAt: now, CreatedBy: c.Name, ModifiedAt: now, ModifiedBy: c.Name}}
	created, err := cp.st.PutProject(r.Context(), p)
	if errors.Is(err, store.ErrConflict) {
		return errorf(http.StatusConflict, "Conflict", "project name %q is already used in this installation", name)
	}
	if err != nil {
		return err
	}
	p, err = cp.st.GetProject(r.Context(), name)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, projectBody(p))
}

func (cp *ControlPlane) deleteProject(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := cp.projectFor(r, c, r.PathValue("hub"), r.PathValue("project"))
	if err != nil {
		return err
	}
	if err := c.require(actProjectDelete, projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	if err := cp.st.DeleteProject(r.Context(), p.Name); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errorf(http.StatusConflict, "Conflict", "project %q still has serverless endpoints; delete them first", p.Name)
		}
		return err
	}
	if err := cp.dropAssignments(r.Context(), projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
