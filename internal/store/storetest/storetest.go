// Package storetest is the conformance suite every store.Store backend must
// pass. A backend's test calls Run with a function that returns a fresh,
// empty store for each subtest.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"maas/internal/snapshot"
	"maas/internal/store"
)

// Run runs every conformance test against stores made by open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		f    func(*testing.T, store.Store)
	}{
		{"Hubs", testHubs},
		{"Projects", testProjects},
		{"Endpoints", testEndpoints},
		{"EndpointUniqueness", testEndpointUniqueness},
		{"Models", testModels},
		{"Principals", testPrincipals},
		{"RoleAssignments", testRoleAssignments},
		{"Usage", testUsage},
		{"UsageIdempotent", testUsageIdempotent},
		{"Settings", testSettings},
		{"ConcurrentWrites", testConcurrentWrites},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.f(t, s)
		})
	}
}

// t0unix is when the suite's records are made (at0 as a time).
const t0unix = 1772359200 // 2026-03-01T10:00:00Z

func at0() time.Time { return time.Unix(t0unix, 0).UTC() }

func meta(by string) store.Meta {
	return store.Meta{CreatedAt: at0(), CreatedBy: by, ModifiedAt: at0(), ModifiedBy: by}
}

func mustErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func addHubProject(t *testing.T, s store.Store, hub, project, region string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.GetHub(ctx, hub); errors.Is(err, store.ErrNotFound) {
		_, err := s.PutHub(ctx, store.Hub{Name: hub, Region: region, Meta: meta("u")})
		must(t, err, "put hub")
	}
	_, err := s.PutProject(ctx, store.Project{Name: project, Hub: hub, Region: region, Meta: meta("u")})
	must(t, err, "put project")
}

func testHubs(t *testing.T, s store.Store) {
	ctx := context.Background()
	created, err := s.PutHub(ctx, store.Hub{Name: "h1", Region: "eastus2", Tags: map[string]string{"team": "a"}, Meta: meta("alice")})
	must(t, err, "put hub")
	if !created {
		t.Fatal("first PutHub reported an update")
	}
	later := at0().Add(time.Hour)
	created, err = s.PutHub(ctx, store.Hub{Name: "h1", Region: "eastus2", Meta: store.Meta{CreatedAt: later, CreatedBy: "bob", ModifiedAt: later, ModifiedBy: "bob"}})
	must(t, err, "update hub")
	if created {
		t.Fatal("second PutHub reported a create")
	}
	h, err := s.GetHub(ctx, "h1")
	must(t, err, "get hub")
	if h.Region != "eastus2" || h.CreatedBy != "alice" || !h.CreatedAt.Equal(at0()) || h.ModifiedBy != "bob" || !h.ModifiedAt.Equal(later) || len(h.Tags) != 0 {
		t.Fatalf("hub after update = %+v", h)
	}
	_, err = s.PutHub(ctx, store.Hub{Name: "h0", Region: "swedencentral", Meta: meta("alice")})
	must(t, err, "put hub h0")
	hubs, err := s.ListHubs(ctx)
	must(t, err, "list hubs")
	if len(hubs) != 2 || hubs[0].Name != "h0" || hubs[1].Name != "h1" {
		t.Fatalf("ListHubs = %+v, want h0, h1", hubs)
	}
	_, err = s.GetHub(ctx, "nope")
	mustErr(t, err, store.ErrNotFound, "get missing hub")
	addHubProject(t, s, "h1", "p1", "eastus2")
	mustErr(t, s.DeleteHub(ctx, "h1"), store.ErrConflict, "delete hub with a project")
	must(t, s.DeleteProject(ctx, "p1"), "delete project")
	must(t, s.DeleteHub(ctx, "h1"), "delete hub")
	mustErr(t, s.DeleteHub(ctx, "h1"), store.ErrNotFound, "delete hub twice")
}

func testProjects(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.PutProject(ctx, store.Project{Name: "p", Hub: "missing", Region: "eastus2", Meta: meta("u")})
	mustErr(t, err, store.ErrNotFound, "project in a missing hub")
	addHubProject(t, s, "h1", "p1", "eastus2")
	addHubProject(t, s, "h2", "p2", "swedencentral")
	_, err = s.PutProject(ctx, store.Project{Name: "p1", Hub: "h2", Region: "swedencentral", Meta: meta("u")})
	mustErr(t, err, store.ErrConflict, "project name taken in another hub")
	created, err := s.PutProject(ctx, store.Project{Name: "p1", Hub: "h1", Region: "eastus2", Tags: map[string]string{"k": "v"}, Meta: meta("u")})
	must(t, err, "update project")
	if created {
		t.Fatal("update reported a create")
	}
	p, err := s.GetProject(ctx, "p1")
	must(t, err, "get project")
	if p.Hub != "h1" || p.Region != "eastus2" || p.Tags["k"] != "v" {
		t.Fatalf("project = %+v", p)
	}
	all, err := s.ListProjects(ctx, "")
	must(t, err, "list all projects")
	if len(all) != 2 {
		t.Fatalf("ListProjects(\"\") = %d projects, want 2", len(all))
	}
	inH2, err := s.ListProjects(ctx, "h2")
	must(t, err, "list h2 projects")
	if len(inH2) != 1 || inH2[0].Name != "p2" {
		t.Fatalf("ListProjects(h2) = %+v", inH2)
	}
	_, err = s.GetProject(ctx, "nope")
	mustErr(t, err, store.ErrNotFound, "get missing project")
	mustErr(t, s.DeleteProject(ctx, "nope"), store.ErrNotFound, "delete missing project")
}

func endpoint(id, name, project, region, model string) store.Endpoint {
	return store.Endpoint{
		ID: id, Name: name, Project: project, Hub: "h1", Region: region, Model: model,
		ModelID:           "azureml://registries/azureml/models/" + model,
		ContentSafety:     "Enabled",
		ProvisioningState: "Creating", EndpointState: "Creating",
		PrimaryKey: []byte{1, 2, 3}, SecondaryKey: []byte{4, 5, 6},
		TokensPerMinute: 200000, RequestsPerMinute: 1000,
		Meta: meta("u"),
	}
}

func testEndpoints(t *testing.T, s store.Store) {
	ctx := context.Background()
	addHubProject(t, s, "h1", "p1", "eastus2")
	e := endpoint("id1", "ep1", "p1", "eastus2", "Phi-3-mini-4k-instruct")
	e.Tags = map[string]string{"a": "b"}
	must(t, s.CreateEndpoint(ctx, e), "create endpoint")
	mustErr(t, s.CreateEndpoint(ctx, endpoint("id9", "x", "missing", "eastus2", "m")), store.ErrNotFound, "endpoint in a missing project")
	got, err := s.GetEndpoint(ctx, "p1", "ep1")
	must(t, err, "get endpoint")
	if got.ID != "id1" || got.Model != e.Model || string(got.PrimaryKey) != string(e.PrimaryKey) ||
		string(got.SecondaryKey) != string(e.SecondaryKey) || got.TokensPerMinute != 200000 || got.Tags["a"] != "b" || !got.CreatedAt.Equal(at0()) {
		t.Fatalf("endpoint = %+v", got)
	}
	got.ProvisioningState, got.EndpointState, got.FailureReason = "Failed", "CreationFailed", "weights missing"
	got.PrimaryKey = []byte{9, 9}
	got.TokensPerMinute, got.RequestsPerMinute = 5, 6
	got.ModifiedAt, got.ModifiedBy = at0().Add(time.Minute), "v"
	must(t, s.UpdateEndpoint(ctx, got), "update endpoint")
	again, err := s.GetEndpoint(ctx, "p1", "ep1")
	must(t, err, "get updated endpoint")
	if again.ProvisioningState != "Failed" || again.FailureReason != "weights missing" || string(again.PrimaryKey) != "\x09\x09" ||
		again.TokensPerMinute != 5 || again.RequestsPerMinute != 6 || again.ModifiedBy != "v" || again.CreatedBy != "u" {
		t.Fatalf("updated endpoint = %+v", again)
	}
	mustErr(t, s.UpdateEndpoint(ctx, endpoint("idx", "nope", "p1", "eastus2", "m")), store.ErrNotFound, "update missing endpoint")
	mustErr(t, s.DeleteProject(ctx, "p1"), store.ErrConflict, "delete project with endpoints")
	list, err := s.ListEndpoints(ctx, "p1")
	must(t, err, "list endpoints")
	if len(list) != 1 || list[0].Name != "ep1" {
		t.Fatalf("ListEndpoints = %+v", list)
	}
	must(t, s.DeleteEndpoint(ctx, "p1", "ep1"), "delete endpoint")
	mustErr(t, s.DeleteEndpoint(ctx, "p1", "ep1"), store.ErrNotFound, "delete endpoint twice")
	_, err = s.GetEndpoint(ctx, "p1", "ep1")
	mustErr(t, err, store.ErrNotFound, "get deleted endpoint")
	must(t, s.DeleteProject(ctx, "p1"), "delete empty project")
}

func testEndpointUniqueness(t *testing.T, s store.Store) {
	ctx := context.Background()
	addHubProject(t, s, "h1", "p1", "eastus2")
	addHubProject(t, s, "h1", "p2", "eastus2")
	addHubProject(t, s, "h3", "p3", "swedencentral")
	must(t, s.CreateEndpoint(ctx, endpoint("a", "ep", "p1", "eastus2", "m1")), "create")
	mustErr(t, s.CreateEndpoint(ctx, endpoint("b", "ep", "p2", "eastus2", "m1")), store.ErrConflict, "same name, same region")
	mustErr(t, s.CreateEndpoint(ctx, endpoint("c", "other", "p1", "eastus2", "m1")), store.ErrConflict, "same model, same project")
	mustErr(t, s.CreateEndpoint(ctx, endpoint("a", "x", "p2", "eastus2", "m2")), store.ErrConflict, "same id")
	must(t, s.CreateEndpoint(ctx, endpoint("d", "ep", "p3", "swedencentral", "m1")), "same name, other region")
	must(t, s.CreateEndpoint(ctx, endpoint("e", "ep2", "p2", "eastus2", "m1")), "same model, other project")
	all, err := s.ListEndpoints(ctx, "")
	must(t, err, "list all")
	if len(all) != 3 {
		t.Fatalf("ListEndpoints(\"\") = %d endpoints, want 3", len(all))
	}
}

func testModels(t *testing.T, s store.Store) {
	ctx := context.Background()
	created, err := s.PutModel(ctx, store.Model{Name: "tiny", Spec: []byte(`{"file":"/a.gguf"}`), Meta: meta("u")})
	must(t, err, "put model")
	if !created {
		t.Fatal("first PutModel reported an update")
	}
	created, err = s.PutModel(ctx, store.Model{Name: "tiny", Spec: []byte(`{"file":"/b.gguf"}`), Meta: meta("v")})
	must(t, err, "update model")
	if created {
		t.Fatal("second PutModel reported a create")
	}
	m, err := s.GetModel(ctx, "tiny")
	must(t, err, "get model")
	if string(m.Spec) != `{"file":"/b.gguf"}` || m.CreatedBy != "u" || m.ModifiedBy != "v" {
		t.Fatalf("model = %+v", m)
	}
	list, err := s.ListModels(ctx)
	must(t, err, "list models")
	if len(list) != 1 {
		t.Fatalf("ListModels = %d, want 1", len(list))
	}
	must(t, s.DeleteModel(ctx, "tiny"), "delete model")
	_, err = s.GetModel(ctx, "tiny")
	mustErr(t, err, store.ErrNotFound, "get deleted model")
	mustErr(t, s.DeleteModel(ctx, "tiny"), store.ErrNotFound, "delete model twice")
}

func testPrincipals(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreatePrincipal(ctx, store.Principal{ID: "p1", Name: "alice", TokenHash: "h1", CreatedAt: at0()}), "create")
	must(t, s.CreatePrincipal(ctx, store.Principal{ID: "p2", Name: "bob", TokenHash: "h2", CreatedAt: at0().Add(time.Second)}), "create")
	mustErr(t, s.CreatePrincipal(ctx, store.Principal{ID: "p1", Name: "x", TokenHash: "h3", CreatedAt: at0()}), store.ErrConflict, "duplicate id")
	mustErr(t, s.CreatePrincipal(ctx, store.Principal{ID: "p3", Name: "x", TokenHash: "h1", CreatedAt: at0()}), store.ErrConflict, "duplicate token hash")
	p, err := s.PrincipalByTokenHash(ctx, "h2")
	must(t, err, "by token")
	if p.ID != "p2" || p.Name != "bob" || !p.CreatedAt.Equal(at0().Add(time.Second)) {
		t.Fatalf("principal = %+v", p)
	}
	_, err = s.PrincipalByTokenHash(ctx, "nope")
	mustErr(t, err, store.ErrNotFound, "unknown token")
	list, err := s.ListPrincipals(ctx)
	must(t, err, "list")
	if len(list) != 2 || list[0].ID != "p1" {
		t.Fatalf("ListPrincipals = %+v", list)
	}
	_, err = s.PutRoleAssignment(ctx, store.RoleAssignment{ID: "r1", PrincipalID: "p1", Role: "Owner", Scope: "/", CreatedAt: at0()})
	must(t, err, "assign")
	must(t, s.DeletePrincipal(ctx, "p1"), "delete principal")
	_, err = s.GetRoleAssignment(ctx, "r1")
	mustErr(t, err, store.ErrNotFound, "assignment of a deleted principal")
	_, err = s.GetPrincipal(ctx, "p1")
	mustErr(t, err, store.ErrNotFound, "deleted principal")
	mustErr(t, s.DeletePrincipal(ctx, "p1"), store.ErrNotFound, "delete principal twice")
}

func testRoleAssignments(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreatePrincipal(ctx, store.Principal{ID: "p1", Name: "a", TokenHash: "h1", CreatedAt: at0()}), "create")
	must(t, s.CreatePrincipal(ctx, store.Principal{ID: "p2", Name: "b", TokenHash: "h2", CreatedAt: at0()}), "create")
	_, err := s.PutRoleAssignment(ctx, store.RoleAssignment{ID: "r0", PrincipalID: "ghost", Role: "Owner", Scope: "/", CreatedAt: at0()})
	mustErr(t, err, store.ErrNotFound, "assignment for a missing principal")
	created, err := s.PutRoleAssignment(ctx, store.RoleAssignment{ID: "r1", PrincipalID: "p1", Role: "Reader", Scope: "/hubs/h", CreatedAt: at0()})
	must(t, err, "assign")
	if !created {
		t.Fatal("first put reported an update")
	}
	created, err = s.PutRoleAssignment(ctx, store.RoleAssignment{ID: "r1", PrincipalID: "p1", Role: "Owner", Scope: "/hubs/h", CreatedAt: at0().Add(time.Hour)})
	must(t, err, "reassign")
	if created {
		t.Fatal("second put reported a create")
	}
	_, err = s.PutRoleAssignment(ctx, store.RoleAssignment{ID: "r2", PrincipalID: "p2", Role: "Reader", Scope: "/", CreatedAt: at0()})
	must(t, err, "assign p2")
	a, err := s.GetRoleAssignment(ctx, "r1")
	must(t, err, "get")
	if a.Role != "Owner" || a.Scope != "/hubs/h" || !a.CreatedAt.Equal(at0()) {
		t.Fatalf("assignment = %+v", a)
	}
	mine, err := s.ListRoleAssignments(ctx, "p2")
	must(t, err, "list p2")
	if len(mine) != 1 || mine[0].ID != "r2" {
		t.Fatalf("ListRoleAssignments(p2) = %+v", mine)
	}
	all, err := s.ListRoleAssignments(ctx, "")
	must(t, err, "list all")
	if len(all) != 2 {
		t.Fatalf("ListRoleAssignments(\"\") = %d, want 2", len(all))
	}
	must(t, s.DeleteRoleAssignment(ctx, "r1"), "delete")
	mustErr(t, s.DeleteRoleAssignment(ctx, "r1"), store.ErrNotFound, "delete twice")
}

func usageRec(id, endpoint, model string, at time.Time, in, out int64) snapshot.UsageRecord {
	return snapshot.UsageRecord{
		RequestID: id, Time: at, Hub: "h1", Project: "p1", EndpointID: "id-" + endpoint, Endpoint: endpoint,
		Region: "eastus2", Model: model, PromptTokens: in, CompletionTokens: out, Status: 200, FinishReason: "stop",
		Duration: time.Second, InputCost: float64(in) / 1000 * 0.00013, OutputCost: float64(out) / 1000 * 0.00052,
	}
}

func testUsage(t *testing.T, s store.Store) {
	ctx := context.Background()
	day1 := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)
	day2 := time.Date(2026, 3, 2, 0, 1, 0, 0, time.UTC)
	recs := []snapshot.UsageRecord{
		usageRec("r1", "a", "m1", day1, 100, 10),
		usageRec("r2", "a", "m1", day2, 200, 20),
		usageRec("r3", "b", "m2", day2, 1000, 0),
	}
	other := usageRec("r4", "a", "m1", day2, 7, 7)
	other.Project = "p2"
	must(t, s.AppendUsage(ctx, append(recs, other)), "append")
	rows, err := s.QueryUsage(ctx, store.UsageQuery{Project: "p1", GroupBy: store.GroupByEndpoint})
	must(t, err, "by endpoint")
	if len(rows) != 2 || rows[0].Key != "a" || rows[0].Requests != 2 || rows[0].PromptTokens != 300 || rows[0].CompletionTokens != 30 ||
		rows[1].Key != "b" || rows[1].PromptTokens != 1000 {
		t.Fatalf("by endpoint = %+v", rows)
	}
	if d := rows[0].InputCost - 0.3*0.00013; d > 1e-12 || d < -1e-12 {
		t.Fatalf("input cost = %v, want %v", rows[0].InputCost, 0.3*0.00013)
	}
	rows, err = s.QueryUsage(ctx, store.UsageQuery{Project: "p1", GroupBy: store.GroupByDay})
	must(t, err, "by day")
	if len(rows) != 2 || rows[0].Key != "2026-03-01" || rows[0].Requests != 1 || rows[1].Key != "2026-03-02" || rows[1].Requests != 2 {
		t.Fatalf("by day = %+v", rows)
	}
	rows, err = s.QueryUsage(ctx, store.UsageQuery{Project: "p1", GroupBy: store.GroupByModel, Endpoint: "a"})
	must(t, err, "by model for endpoint a")
	if len(rows) != 1 || rows[0].Key != "m1" || rows[0].Requests != 2 {
		t.Fatalf("by model = %+v", rows)
	}
	rows, err = s.QueryUsage(ctx, store.UsageQuery{Project: "p1", GroupBy: store.GroupByEndpoint, From: day2, To: day2.Add(time.Hour)})
	must(t, err, "time window")
	if len(rows) != 2 || rows[0].Requests != 1 || rows[0].PromptTokens != 200 {
		t.Fatalf("window = %+v", rows)
	}
	rows, err = s.QueryUsage(ctx, store.UsageQuery{Project: "p1", GroupBy: store.GroupByEndpoint, To: day2})
	must(t, err, "to is exclusive")
	if len(rows) != 1 || rows[0].Requests != 1 {
		t.Fatalf("before day2 = %+v", rows)
	}
	rows, err = s.QueryUsage(ctx, store.UsageQuery{Project: "empty", GroupBy: store.GroupByDay})
	must(t, err, "empty project")
	if len(rows) != 0 {
		t.Fatalf("empty project = %+v", rows)
	}
	if _, err := s.QueryUsage(ctx, store.UsageQuery{Project: "p1", GroupBy: "week"}); err == nil {
		t.Fatal("unknown groupBy accepted")
	}
	if err := s.AppendUsage(ctx, []snapshot.UsageRecord{{Project: "p1"}}); err == nil {
		t.Fatal("record without request id accepted")
	}
}

func testUsageIdempotent(t *testing.T, s store.Store) {
	ctx := context.Background()
	r := usageRec("same", "a", "m", at0(), 10, 1)
	must(t, s.AppendUsage(ctx, []snapshot.UsageRecord{r}), "append")
	must(t, s.AppendUsage(ctx, []snapshot.UsageRecord{r, usageRec("new", "a", "m", at0(), 5, 1)}), "append again")
	rows, err := s.QueryUsage(ctx, store.UsageQuery{Project: "p1", GroupBy: store.GroupByEndpoint})
	must(t, err, "query")
	if len(rows) != 1 || rows[0].Requests != 2 || rows[0].PromptTokens != 15 {
		t.Fatalf("after duplicate append = %+v, want 2 requests and 15 prompt tokens", rows)
	}
}

func testSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.GetSetting(ctx, "k")
	mustErr(t, err, store.ErrNotFound, "missing setting")
	must(t, s.SetSetting(ctx, "k", "v1"), "set")
	must(t, s.SetSetting(ctx, "k", "v2"), "overwrite")
	v, err := s.GetSetting(ctx, "k")
	must(t, err, "get")
	if v != "v2" {
		t.Fatalf("setting = %q, want v2", v)
	}
}

func testConcurrentWrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	addHubProject(t, s, "h1", "p1", "eastus2")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- s.CreateEndpoint(ctx, endpoint(fmt.Sprintf("id%d", i), fmt.Sprintf("ep%d", i), "p1", "eastus2", fmt.Sprintf("m%d", i)))
		}()
		go func() {
			defer wg.Done()
			errs <- s.AppendUsage(ctx, []snapshot.UsageRecord{usageRec(fmt.Sprintf("r%d", i), "a", "m", at0(), 1, 1)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent write")
	}
	list, err := s.ListEndpoints(ctx, "p1")
	must(t, err, "list")
	if len(list) != 20 {
		t.Fatalf("%d endpoints after 20 concurrent creates", len(list))
	}
}
