package controlplane

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	apiv1 "maas/api/v1"
	"maas/internal/store"
)

// modelNameRE is the rule for catalog model names.
var modelNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (cp *ControlPlane) listModels(w http.ResponseWriter, r *http.Request, c *caller) error {
	all, err := cp.catalog(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiv1.List[apiv1.Model]{Value: all})
}

func (cp *ControlPlane) getModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	m, ok, err := cp.lookupModel(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	if !ok {
		return errorf(http.StatusNotFound, "NotFound", "model %q is not in the catalog", r.PathValue("name"))
	}
	return writeJSON(w, http.StatusOK, m)
}

// checkModel validates and completes an operator catalog entry.
func (cp *ControlPlane) checkModel(name string, m *apiv1.Model) error {
	if !modelNameRE.MatchString(name) {
		return badRequest("model name %q is invalid: it must match %s", name, modelNameRE)
	}
	m.Name, m.Source, m.Ready = name, "operator", false
	if m.CatalogID == "" {
		m.CatalogID = CatalogPrefix + name
	}
	if strings.Contains(m.CatalogID, "/versions/") {
		return badRequest("field \"catalogId\" must not name a version")
	}
	if len(m.Regions) == 0 {
		return badRequest("field \"regions\" is required: the regions that offer the model serverless")
	}
	for i, reg := range m.Regions {
		m.Regions[i] = strings.ToLower(strings.TrimSpace(reg))
		if !cp.knownRegion(m.Regions[i]) {
			return errorf(http.StatusBadRequest, "InvalidLocation", "region %q is not a region of this installation (%s)", reg, strings.Join(cp.regions(), ", "))
		}
	}
	if m.Pricing == nil {
		return badRequest("field \"pricing\" is required: {\"inputPer1K\":USD,\"outputPer1K\":USD}")
	}
	if m.Pricing.InputPer1K < 0 || m.Pricing.OutputPer1K < 0 {
		return badRequest("field \"pricing\" must not be negative")
	}
	if m.File == "" && m.Upstream == "" && len(m.Weights) == 0 {
		return badRequest("one of fields \"file\", \"upstream\" or \"weights\" is required")
	}
	if m.File != "" && !filepath.IsAbs(m.File) {
		return badRequest("field \"file\" must be an absolute path on the server, not %q", m.File)
	}
	if m.Upstream != "" {
		u, err := url.Parse(m.Upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return badRequest("field \"upstream\" must be an http(s) URL, not %q", m.Upstream)
		}
	}
	for _, wf := range m.Weights {
		if wf.File == "" || filepath.Base(wf.File) != wf.File {
			return badRequest("weights[].file must be a plain file name, not %q", wf.File)
		}
	}
	switch m.LifecycleStage {
	case "":
		m.LifecycleStage = StageGA
	case StagePreview, StageGA, StageLegacy, StageDeprecated, StageRetired:
	default:
		return badRequest("field \"lifecycleStage\" must be one of Preview, GenerallyAvailable, Legacy, Deprecated, Retired")
	}
	if m.ContextLength < 0 || m.MaxOutput < 0 {
		return badRequest("fields \"contextLength\" and \"maxOutputTokens\" must not be negative")
	}
	if m.ContextLength == 0 {
		m.ContextLength = 4096
	}
	if m.Publisher == "" {
		m.Publisher = "Microsoft"
	}
	if m.Capabilities == nil {
		m.Capabilities = &apiv1.Capabilities{}
	}
	return nil
}

func (cp *ControlPlane) saveModel(r *http.Request, c *caller, m apiv1.Model) (bool, error) {
	spec, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	now := cp.now()
	return cp.st.PutModel(r.Context(), store.Model{Name: m.Name, Spec: spec,
		Meta: store.Meta{CreatedAt: now, CreatedBy: c.Name, ModifiedAt: now, ModifiedBy: c.Name}})
}

func (cp *ControlPlane) putModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := c.require(actModelWrite, "/"); err != nil {
		return err
	}
	name := r.PathValue("name")
	var m apiv1.Model
	if err := decode(r, &m, true); err != nil {
		return err
	}
	if err := cp.checkModel(name, &m); err != nil {
		return err
	}
	all, err := cp.catalog(r.Context())
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.Name != name && o.CatalogID == m.CatalogID {
			return errorf(http.StatusConflict, "Conflict", "catalog id %s is already used by model %q", m.CatalogID, o.Name)
		}
	}
	return cp.commitModel(w, r, c, m)
}

func (cp *ControlPlane) deleteModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := c.require(actModelWrite, "/"); err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, err := cp.st.GetModel(r.Context(), name); errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "NotFound", "model %q has no operator entry (built-in entries cannot be deleted)", name)
	} else if err != nil {
		return err
	}
	builtin := false
	for _, b := range builtinCatalog() {
		builtin = builtin || b.Name == name
	}
	if !builtin {
		eps, err := cp.st.ListEndpoints(r.Context(), "")
		if err != nil {
			return err
		}
		for _, e := range eps {
			if e.Model == name {
				return errorf(http.StatusConflict, "Conflict", "model %q is served by endpoint %q in project %q; delete the endpoint first", name, e.Name, e.Project)
			}
		}
	}
	if err := cp.st.DeleteModel(r.Context(), name); err != nil {
		return err
	}
	if err := cp.publishAfter(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// importModel registers a local GGUF file for a catalog entry after the
// WeightsChecker accepts it.
func (cp *ControlPlane) importModel(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := c.require(actModelWrite, "/"); err != nil {
		return err
	}
	name := r.PathValue("name")
	var req apiv1.ImportRequest
	if err := decode(r, &req, true); err != nil {
		return err
	}
	if req.File == "" || !filepath.IsAbs(req.File) {
		return badRequest("field \"file\" must be an absolute path on the server, not %q", req.File)
	}
	m, ok, err := cp.lookupModel(r.Context(), name)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(http.StatusNotFound, "NotFound", "model %q is not in the catalog", name)
	}
	if st, err := os.Stat(req.File); err != nil || st.IsDir() {
		return badRequest("file %s is not a readable file on the server", req.File)
	}
	if err := cp.opts.Checker.Check(r.Context(), req.File, m); err != nil {
		return errorf(http.StatusBadRequest, "InvalidWeights", "file %s does not match model %s: %v", req.File, name, err)
	}
	m.File = req.File
	m.Ready = false
	return cp.commitModel(w, r, c, m)
}

// commitModel saves m, re-provisions the endpoints that use it, publishes the
// snapshot and answers 201 for a new entry or 200 for an update.
func (cp *ControlPlane) commitModel(w http.ResponseWriter, r *http.Request, c *caller, m apiv1.Model) error {
	created, err := cp.saveModel(r, c, m)
	if err != nil {
		return err
	}
	if err := cp.reprovisionModel(r.Context(), m, c.Name); err != nil {
		return err
	}
	if err := cp.publishAfter(r.Context()); err != nil {
		return err
	}
	m.Ready = cp.ready(m)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, m)
}
