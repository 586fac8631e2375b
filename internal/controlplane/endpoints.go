package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	apiv1 "maas/api/v1"
	"maas/internal/store"
)

const endpointType = "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints"

// endpointURI is where the data plane serves an endpoint.
func (cp *ControlPlane) endpointURI(region, name string) string {
	if cp.opts.Domain != "" {
		return fmt.Sprintf("https://%s.%s.%s", name, region, cp.opts.Domain)
	}
	return fmt.Sprintf("%s/serverless/%s/%s", cp.opts.PublicURL, region, name)
}

func (cp *ControlPlane) endpointBody(e store.Endpoint) apiv1.ServerlessEndpoint {
	return apiv1.ServerlessEndpoint{
		ID:       projectScope(e.Hub, e.Project) + "/serverlessEndpoints/" + e.Name,
		Name:     e.Name,
		Type:     endpointType,
		Location: e.Region,
		SKU:      &apiv1.SKU{Name: "Consumption"},
		Tags:     e.Tags,
		Properties: apiv1.ServerlessEndpointProperties{
			ModelSettings:     &apiv1.ModelSettings{ModelID: e.ModelID},
			AuthMode:          "Key",
			ContentSafety:     &apiv1.ContentSafety{ContentSafetyStatus: e.ContentSafety},
			InferenceEndpoint: &apiv1.InferenceEndpoint{URI: cp.endpointURI(e.Region, e.Name)},
			ProvisioningState: e.ProvisioningState,
			EndpointState:     e.EndpointState,
			FailureReason:     e.FailureReason,
		},
		SystemData: systemData(e.Meta),
	}
}

// endpointFor loads an endpoint of a project the caller can see.
func (cp *ControlPlane) endpointFor(r *http.Request, c *caller) (store.Project, store.Endpoint, error) {
	p, err := cp.projectFor(r, c, "", r.PathValue("project"))
	if err != nil {
		return p, store.Endpoint{}, err
	}
	name := r.PathValue("name")
	e, err := cp.st.GetEndpoint(r.Context(), p.Name, name)
	if errors.Is(err, store.ErrNotFound) {
		return p, e, errorf(http.StatusNotFound, "NotFound", "serverless endpoint %q not found in project %q", name, p.Name)
	}
	return p, e, err
}

func (cp *ControlPlane) listEndpoints(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := cp.projectFor(r, c, "", r.PathValue("project"))
	if err != nil {
		return err
	}
	if err := c.require(actRead, projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	eps, err := cp.st.ListEndpoints(r.Context(), p.Name)
	if err != nil {
		return err
	}
	out := []apiv1.ServerlessEndpoint{}
	for _, e := range eps {
		out = append(out, cp.endpointBody(e))
	}
	return writeJSON(w, http.StatusOK, apiv1.List[apiv1.ServerlessEndpoint]{Value: out})
}

func (cp *ControlPlane) getEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, e, err := cp.endpointFor(r, c)
	if err != nil {
		return err
	}
	if err := c.require(actRead, projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cp.endpointBody(e))
}

// checkEndpointBody validates the writable fields of a PUT body.
func checkEndpointBody(b *apiv1.ServerlessEndpoint, p store.Project) error {
	if b.Location != "" && !strings.EqualFold(b.Location, p.Region) {
		return badRequest("location %q does not match the project's region %s", b.Location, p.Region)
	}
	if b.SKU != nil && b.SKU.Name != "Consumption" {
		return badRequest("sku.name %q is not offered; serverless endpoints use \"Consumption\"", b.SKU.Name)
	}
	switch b.Properties.AuthMode {
	case "", "Key":
	case "AAD":
		return badRequest("authMode \"AAD\" is not supported: serverless endpoints use keys only")
	default:
		return badRequest("authMode %q is invalid; use \"Key\"", b.Properties.AuthMode)
	}
	if cs := b.Properties.ContentSafety; cs != nil {
		switch cs.ContentSafetyStatus {
		case "Enabled", "Disabled":
		default:
			return badRequest("properties.contentSafety.contentSafetyStatus %q is invalid; use \"Enabled\" or \"Disabled\"", cs.ContentSafetyStatus)
		}
	}
	if b.Properties.ModelSettings == nil || b.Properties.ModelSettings.ModelID == "" {
		return badRequest("properties.modelSettings.modelId is required")
	}
	return nil
}

// deployable checks that m may be deployed serverless in region.
func deployable(m apiv1.Model, modelID, region string) error {
	switch m.LifecycleStage {
	case StageDeprecated, StageRetired:
		return errorf(http.StatusBadRequest, "UserError", "the model %s is %s and cannot be deployed", modelID, strings.ToLower(m.LifecycleStage))
	}
	for _, r := range m.Regions {
		if r == region {
			return nil
		}
	}
	return errorf(http.StatusBadRequest, "UserError", "The requested model %s is not available in region %s.", modelID, regionDisplayName(region))
}

func (cp *ControlPlane) putEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	name := r.PathValue("name")
	if err := checkName("serverless endpoint", name); err != nil {
		return err
	}
	p, err := cp.projectFor(r, c, "", r.PathValue("project"))
	if err != nil {
		return err
	}
	if err := c.require(actEndpointWrite, projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	var body apiv1.ServerlessEndpoint
	if err := decode(r, &body, true); err != nil {
		return err
	}
	if err := checkEndpointBody(&body, p); err != nil {
		return err
	}
	modelID := body.Properties.ModelSettings.ModelID
	m, err := cp.resolveModelID(ctx, modelID)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(modelID, "azureml://") {
		modelID = m.CatalogID
	}
	contentSafety := "Enabled"
	if body.Properties.ContentSafety != nil {
		contentSafety = body.Properties.ContentSafety.ContentSafetyStatus
	}
	now := cp.now()

	old, err := cp.st.GetEndpoint(ctx, p.Name, name)
	if err == nil {
		// Update: the model cannot change; a failed endpoint is provisioned again.
		if old.Model != m.Name {
			return badRequest("serverless endpoint %q serves %s; its model cannot change (delete it and create a new one)", name, old.ModelID)
		}
		old.ContentSafety, old.Tags = contentSafety, body.Tags
		old.ModifiedAt, old.ModifiedBy = now, c.Name
		if old.ProvisioningState != apiv1.ProvisioningSucceeded {
			if err := deployable(m, modelID, p.Region); err != nil {
				return err
			}
			cp.provision(ctx, &old, m)
		}
		if err := cp.st.UpdateEndpoint(ctx, old); err != nil {
			return err
		}
		if err := cp.publishAfter(ctx); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, cp.endpointBody(old))
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := deployable(m, modelID, p.Region); err != nil {
		return err
	}
	if err := cp.checkEndpointUnique(ctx, p, name, m.Name); err != nil {
		return err
	}
	e := store.Endpoint{
		Name: name, Project: p.Name, Hub: p.Hub, Region: p.Region, Model: m.Name, ModelID: modelID,
		ContentSafety: contentSafety, ProvisioningState: apiv1.ProvisioningCreating, EndpointState: apiv1.EndpointStateCreating,
		TokensPerMinute: DefaultTokensPerMinute, RequestsPerMinute: DefaultRequestsPerMinute, Tags: body.Tags,
		Meta: store.Meta{CreatedAt: now, CreatedBy: c.Name, ModifiedAt: now, ModifiedBy: c.Name},
	}
	if e.ID, err = randomID("ep-"); err != nil {
		return err
	}
	for slot := range 2 {
		if err := cp.setKey(&e, slot, ""); err != nil {
			return err
		}
	}
	if err := cp.st.CreateEndpoint(ctx, e); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errorf(http.StatusConflict, "Conflict", "serverless endpoint %q conflicts with an existing one (name per region, model per project)", name)
		}
		return err
	}
	cp.provision(ctx, &e, m)
	if err := cp.st.UpdateEndpoint(ctx, e); err != nil {
		return err
	}
	if err := cp.publishAfter(ctx); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, cp.endpointBody(e))
}

// checkEndpointUnique enforces one endpoint per model per project and
// unique names per region.
func (cp *ControlPlane) checkEndpointUnique(ctx context.Context, p store.Project, name, model string) error {
	all, err := cp.st.ListEndpoints(ctx, "")
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.Project == p.Name && o.Model == model {
			return errorf(http.StatusConflict, "Conflict",
				"project %q already has a serverless endpoint for model %s (%q); only one endpoint per model per project is allowed", p.Name, model, o.Name)
		}
		if o.Region == p.Region && o.Name == name {
			return errorf(http.StatusConflict, "Conflict",
				"the endpoint name %q is already used in region %s; endpoint URLs must be unique in each region", name, p.Region)
		}
	}
	return nil
}

// provision checks the model's weights and sets the endpoint's states.
func (cp *ControlPlane) provision(ctx context.Context, e *store.Endpoint, m apiv1.Model) {
	fail := func(reason string) {
		e.ProvisioningState, e.EndpointState, e.FailureReason = apiv1.ProvisioningFailed, apiv1.EndpointStateCreationFailed, reason
	}
	if m.Upstream == "" {
		path := cp.weightsPath(m)
		hint := fmt.Sprintf("run 'maas models pull %s' or 'maas models import %s FILE.gguf'", m.Name, m.Name)
		if path == "" {
			fail(fmt.Sprintf("model %s has no local weights: %s", m.Name, hint))
			return
		}
		if _, err := os.Stat(path); err != nil && m.File == "" {
			fail(fmt.Sprintf("weights of model %s are not downloaded (%s): %s", m.Name, path, hint))
			return
		}
		if err := cp.opts.Checker.Check(ctx, path, m); err != nil {
			fail(fmt.Sprintf("weights of model %s are missing or invalid: %v", m.Name, err))
			return
		}
	}
	e.ProvisioningState, e.EndpointState, e.FailureReason = apiv1.ProvisioningSucceeded, apiv1.EndpointStateOnline, ""
}

func (cp *ControlPlane) patchEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, e, err := cp.endpointFor(r, c)
	if err != nil {
		return err
	}
	if err := c.require(actEndpointWrite, projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	var body apiv1.EndpointPatch
	if err := decode(r, &body, true); err != nil {
		return err
	}
	if body.Tags != nil {
		e.Tags = body.Tags
	}
	if body.Properties != nil && body.Properties.ContentSafety != nil {
		switch s := body.Properties.ContentSafety.ContentSafetyStatus; s {
		case "Enabled", "Disabled":
			e.ContentSafety = s
		default:
			return badRequest("properties.contentSafety.contentSafetyStatus %q is invalid; use \"Enabled\" or \"Disabled\"", s)
		}
	}
	e.ModifiedAt, e.ModifiedBy = cp.now(), c.Name
	if err := cp.st.UpdateEndpoint(r.Context(), e); err != nil {
		return err
	}
	if err := cp.publishAfter(r.Context()); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cp.endpointBody(e))
}

func (cp *ControlPlane) deleteEndpoint(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, e, err := cp.endpointFor(r, c)
	if err != nil {
		return err
	}
	if err := c.require(actEndpointWrite, projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	if err := cp.st.DeleteEndpoint(r.Context(), p.Name, e.Name); err != nil {
		return err
	}
	if err := cp.publishAfter(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// reprovisionModel provisions again every endpoint of model that is not
// online, after its weights or entry changed.
func (cp *ControlPlane) reprovisionModel(ctx context.Context, m apiv1.Model, by string) error {
	eps, err := cp.st.ListEndpoints(ctx, "")
	if err != nil {
		return err
	}
	for _, e := range eps {
		if e.Model != m.Name || e.ProvisioningState == apiv1.ProvisioningSucceeded {
			continue
		}
		cp.provision(ctx, &e, m)
		e.ModifiedAt, e.ModifiedBy = cp.now(), by
		if err := cp.st.UpdateEndpoint(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// getStatus answers the ARM getStatus action: {"metrics":{string:string}}.
func (cp *ControlPlane) getStatus(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, e, err := cp.endpointFor(r, c)
	if err != nil {
		return err
	}
	if err := c.require(actRead, projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	online := "false"
	if se := cp.holder.Load().Route(e.Region, e.Name); se != nil && se.ID == e.ID && se.Online {
		online = "true"
	}
	return writeJSON(w, http.StatusOK, map[string]map[string]string{"metrics": {
		"provisioningState": e.ProvisioningState,
		"endpointState":     e.EndpointState,
		"serving":           online,
		"tokensPerMinute":   fmt.Sprint(e.TokensPerMinute),
		"requestsPerMinute": fmt.Sprint(e.RequestsPerMinute),
	}})
}
