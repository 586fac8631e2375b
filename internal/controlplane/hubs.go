package controlplane

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	apiv1 "maas/api/v1"
	"maas/internal/store"
)

// nameRE is the ARM resource name rule used for hubs, projects and endpoints.
var nameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{0,51}$`)

func checkName(kind, name string) error {
	if !nameRE.MatchString(name) {
		return badRequest("%s name %q is invalid: it must match ^[a-zA-Z][a-zA-Z0-9-]{0,51}$", kind, name)
	}
	return nil
}

func systemData(m store.Meta) *apiv1.SystemData {
	return &apiv1.SystemData{
		CreatedAt: m.CreatedAt, CreatedBy: m.CreatedBy, CreatedByType: "User",
		LastModifiedAt: m.ModifiedAt, LastModifiedBy: m.ModifiedBy, LastModifiedByType: "User",
	}
}

func hubBody(h store.Hub) apiv1.Hub {
	return apiv1.Hub{ID: hubScope(h.Name), Name: h.Name, Location: h.Region, Tags: h.Tags, SystemData: systemData(h.Meta)}
}

func (cp *ControlPlane) listRegions(w http.ResponseWriter, r *http.Request, c *caller) error {
	type region struct {
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	}
	var out []region
	for _, n := range cp.regions() {
		out = append(out, region{n, regionDisplayName(n)})
	}
	return writeJSON(w, http.StatusOK, apiv1.List[region]{Value: out})
}

func (cp *ControlPlane) listHubs(w http.ResponseWriter, r *http.Request, c *caller) error {
	hubs, err := cp.st.ListHubs(r.Context())
	if err != nil {
		return err
	}
	out := []apiv1.Hub{}
	for _, h := range hubs {
		if c.sees(hubScope(h.Name)) {
			out = append(out, hubBody(h))
		}
	}
	return writeJSON(w, http.StatusOK, apiv1.List[apiv1.Hub]{Value: out})
}

// hubFor loads a hub the caller can see; others get 404 so that names do
// not leak.
func (cp *ControlPlane) hubFor(r *http.Request, c *caller, name string) (store.Hub, error) {
	h, err := cp.st.GetHub(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !c.sees(hubScope(name))) {
		return h, errorf(http.StatusNotFound, "NotFound", "hub %q not found", name)
	}
	return h, err
}

func (cp *ControlPlane) getHub(w http.ResponseWriter, r *http.Request, c *caller) error {
	h, err := cp.hubFor(r, c, r.PathValue("hub"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, hubBody(h))
}

func (cp *ControlPlane) putHub(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("hub")
	if err := checkName("hub", name); err != nil {
		return err
	}
	var body apiv1.Hub
	if err := decode(r, &body, true); err != nil {
		return err
	}
	region := strings.ToLower(strings.TrimSpace(body.Location))
	if region == "" {
		return badRequest("field \"location\" is required")
	}
	if !cp.knownRegion(region) {
		return errorf(http.StatusBadRequest, "InvalidLocation", "location %q is not a region of this installation (%s)", body.Location, strings.Join(cp.regions(), ", "))
	}
	old, err := cp.st.GetHub(r.Context(), name)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := c.require(actHubWrite, hubScope(name)); err != nil {
		return err
	}
	if exists && old.Region != region {
		return badRequest("hub %q is in %s; the location of a hub cannot change", name, old.Region)
	}
	now := cp.now()
	h := store.Hub{Name: name, Region: region, Tags: body.Tags,
		Meta: store.Meta{CreatedAt: now, CreatedBy: c.Name, ModifiedAt: now, ModifiedBy: c.Name}}
	created, err := cp.st.PutHub(r.Context(), h)
	if err != nil {
		return err
	}
	h, err = cp.st.GetHub(r.Context(), name)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, hubBody(h))
}

func (cp *ControlPlane) deleteHub(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("hub")
	if _, err := cp.hubFor(r, c, name); err != nil {
		return err
	}
	if err := c.require(actHubDelete, hubScope(name)); err != nil {
		return err
	}
	if err := cp.st.DeleteHub(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errorf(http.StatusConflict, "Conflict", "hub %q still has projects; delete them first", name)
		}
		return err
	}
	if err := cp.dropAssignments(r.Context(), hubScope(name)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
