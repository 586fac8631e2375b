// Package store defines the control plane's persistence: record types, the
// Store interface, and its errors. Backends live in sqlite/ (default,
// embedded) and postgres/; storetest/ is the conformance suite both pass.
//
// It imports only the standard library and internal/snapshot (for usage
// records). It never imports the gateway or the engine.
package store

import (
	"context"
	"errors"
	"time"

	"maas/internal/snapshot"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write breaks a uniqueness rule or deletes a
// record that others still refer to.
var ErrConflict = errors.New("conflict")

// Meta records creation and last change of a record.
type Meta struct {
	CreatedAt  time.Time
	CreatedBy  string
	ModifiedAt time.Time
	ModifiedBy string
}

// Hub is a hub record.
type Hub struct {
	Name   string
	Region string
	Tags   map[string]string
	Meta
}

// Project is a project record; Name is unique in the installation.
type Project struct {
	Name   string
	Hub    string
	Region string
	Tags   map[string]string
	Meta
}

// Endpoint is a serverless endpoint record. Name is unique per Region; Model
// is unique per Project. Keys are sealed (encrypted) by the control plane.
type Endpoint struct {
	ID                string
	Name              string
	Project           string
	Hub               string
	Region            string
	Model             string // catalog name
	ModelID           string // catalog id as requested
	ContentSafety     string // Enabled | Disabled
	ProvisioningState string
	EndpointState     string
	FailureReason     string
	PrimaryKey        []byte // sealed
	SecondaryKey      []byte // sealed
	TokensPerMinute   int64
	RequestsPerMinute int64
	Tags              map[string]string
	Meta
}

// Model is an operator catalog entry; Spec is its JSON (api/v1.Model).
type Model struct {
	Name string
	Spec []byte
	Meta
}

// Principal is a management identity; only the token's SHA-256 is kept.
type Principal struct {
	ID        string
	Name      string
	TokenHash string // hex SHA-256 of the bearer token
	CreatedAt time.Time
}

// RoleAssignment grants Role to PrincipalID at Scope.
type RoleAssignment struct {
	ID          string
	PrincipalID string
	Role        string
	Scope       string
	CreatedAt   time.Time
}

// Usage grouping keys for QueryUsage.
const (
	GroupByEndpoint = "endpoint"
	GroupByDay      = "day"
	GroupByModel    = "model"
)

// UsageQuery selects usage records: Project is required; Endpoint, From
// (inclusive) and To (exclusive) are optional filters.
type UsageQuery struct {
	Project  string
	Endpoint string
	From, To time.Time // zero means unbounded
	GroupBy  string    // GroupByEndpoint, GroupByDay (UTC) or GroupByModel
}

// UsageRow is one group of a usage query, ordered by Key.
type UsageRow struct {
	Key              string
	Requests         int64
	PromptTokens     int64
	CompletionTokens int64
	InputCost        float64 // USD
	OutputCost       float64 // USD
}

// Store is the control plane's persistence. Every method is safe for
// concurrent use. Put methods report whether they created the record.
type Store interface {
	PutHub(ctx context.Context, h Hub) (created bool, err error)
	GetHub(ctx context.Context, name string) (Hub, error)
	ListHubs(ctx context.Context) ([]Hub, error)
	// DeleteHub fails with ErrConflict while the hub has projects.
	DeleteHub(ctx context.Context, name string) error

	// PutProject fails with ErrConflict if the name exists in another hub.
	PutProject(ctx context.Context, p Project) (created bool, err error)
	GetProject(ctx context.Context, name string) (Project, error)
	// ListProjects lists the projects of hub, or all when hub is "".
	ListProjects(ctx context.Context, hub string) ([]Project, error)
	// DeleteProject fails with ErrConflict while the project has endpoints.
	DeleteProject(ctx context.Context, name string) error

	// CreateEndpoint fails with ErrConflict on a duplicate ID, a duplicate
	// (Region, Name) or a duplicate (Project, Model).
	CreateEndpoint(ctx context.Context, e Endpoint) error
	// UpdateEndpoint replaces the record with the same Project and Name.
	UpdateEndpoint(ctx context.Context, e Endpoint) error
	GetEndpoint(ctx context.Context, project, name string) (Endpoint, error)
	// ListEndpoints lists a project's endpoints, or all when project is "".
	ListEndpoints(ctx context.Context, project string) ([]Endpoint, error)
	DeleteEndpoint(ctx context.Context, project, name string) error

	PutModel(ctx context.Context, m Model) (created bool, err error)
	GetModel(ctx context.Context, name string) (Model, error)
	ListModels(ctx context.Context) ([]Model, error)
	DeleteModel(ctx context.Context, name string) error

	// CreatePrincipal fails with ErrConflict on a duplicate ID or token hash.
	CreatePrincipal(ctx context.Context, p Principal) error
	GetPrincipal(ctx context.Context, id string) (Principal, error)
	PrincipalByTokenHash(ctx context.Context, tokenHash string) (Principal, error)
	ListPrincipals(ctx context.Context) ([]Principal, error)
	// DeletePrincipal also deletes the principal's role assignments.
	DeletePrincipal(ctx context.Context, id string) error

	// PutRoleAssignment fails with ErrNotFound if the principal does not exist.
	PutRoleAssignment(ctx context.Context, a RoleAssignment) (created bool, err error)
	GetRoleAssignment(ctx context.Context, id string) (RoleAssignment, error)
	// ListRoleAssignments lists a principal's assignments, or all when principalID is "".
	ListRoleAssignments(ctx context.Context, principalID string) ([]RoleAssignment, error)
	DeleteRoleAssignment(ctx context.Context, id string) error

	// AppendUsage stores records; a RequestID already stored is skipped, so
	// retries are harmless. Records without a RequestID are refused.
	AppendUsage(ctx context.Context, recs []snapshot.UsageRecord) error
	QueryUsage(ctx context.Context, q UsageQuery) ([]UsageRow, error)

	// GetSetting returns ErrNotFound for an unknown key.
	GetSetting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error

	Close() error
}
