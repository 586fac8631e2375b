package controlplane

import (
	"context"
	"fmt"

	apiv1 "maas/api/v1"
	"maas/internal/snapshot"
)

// Publish rebuilds the snapshot from the store and stores it in the holder.
// Every change made through the API calls it; call it after changing the
// store by other means.
func (cp *ControlPlane) Publish(ctx context.Context) error {
	cp.pubMu.Lock()
	defer cp.pubMu.Unlock()
	eps, err := cp.st.ListEndpoints(ctx, "")
	if err != nil {
		return fmt.Errorf("publish snapshot: %w", err)
	}
	cat, err := cp.catalog(ctx)
	if err != nil {
		return fmt.Errorf("publish snapshot: %w", err)
	}
	byName := make(map[string]apiv1.Model, len(cat))
	for _, m := range cat {
		byName[m.Name] = m
	}
	out := make([]*snapshot.Endpoint, 0, len(eps))
	for _, e := range eps {
		m, inCatalog := byName[e.Model]
		se := &snapshot.Endpoint{
			ID: e.ID, Name: e.Name, Region: e.Region, Hub: e.Hub, Project: e.Project,
			Model:             cp.snapshotModel(e.Model, m),
			TokensPerMinute:   e.TokensPerMinute,
			RequestsPerMinute: e.RequestsPerMinute,
			// Anything but an explicit Disabled filters (Enabled is the default).
			ContentSafety: e.ContentSafety != "Disabled",
			Online: inCatalog && m.LifecycleStage != StageRetired &&
				e.ProvisioningState == apiv1.ProvisioningSucceeded && e.EndpointState == apiv1.EndpointStateOnline,
		}
		for i, sealed := range [][]byte{e.PrimaryKey, e.SecondaryKey} {
			k, err := cp.open(sealed, keyAAD(e.ID, i))
			if err != nil {
				// A key sealed under another secret cannot open anything.
				cp.opts.Logger.Error("endpoint key unreadable", "endpoint", e.Name, "project", e.Project, "err", err)
				continue
			}
			se.Keys[i] = snapshot.HashKey(k)
		}
		out = append(out, se)
	}
	cp.version++
	cp.holder.Store(snapshot.New(cp.version, out))
	return nil
}

func (cp *ControlPlane) snapshotModel(name string, m apiv1.Model) snapshot.Model {
	sm := snapshot.Model{Name: name, CatalogID: m.CatalogID, ContextLength: m.ContextLength, Provider: m.Publisher}
	if m.Upstream != "" {
		sm.Upstream, sm.UpstreamModel = m.Upstream, m.UpstreamModel
		if sm.UpstreamModel == "" {
			sm.UpstreamModel = name
		}
	} else {
		sm.File = cp.weightsPath(m)
	}
	if m.Pricing != nil {
		sm.InputPer1K, sm.OutputPer1K = m.Pricing.InputPer1K, m.Pricing.OutputPer1K
	}
	if m.Capabilities != nil {
		sm.SystemRole, sm.Tools, sm.JSONMode = m.Capabilities.SystemRole, m.Capabilities.Tools, m.Capabilities.JSONMode
	}
	if sm.Provider == "" {
		sm.Provider = "Microsoft"
	}
	return sm
}

// keyAAD binds a sealed key to its endpoint and slot (0 primary, 1 secondary).
func keyAAD(endpointID string, slot int) string {
	return fmt.Sprintf("maas-endpoint-key/%s/%d", endpointID, slot)
}

// publishAfter publishes and reports a failure to publish as an error of the
// request that made the change.
func (cp *ControlPlane) publishAfter(ctx context.Context) error {
	if err := cp.Publish(ctx); err != nil {
		return fmt.Errorf("change saved but not published: %w", err)
	}
	return nil
}
