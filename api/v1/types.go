// Package v1 holds the wire types of the management REST API served under
// /api by the control plane and used by the maas CLI. It imports only the
// standard library. Endpoint bodies follow the ARM shape of
// Microsoft.MachineLearningServices/workspaces/serverlessEndpoints
// (API version 2024-04-01).
package v1

import "time"

// ErrorResponse is the body of every error answer: {"error":{"code","message"}}.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody names the error (code) and explains it (message).
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// List wraps every collection answer as {"value":[...]}.
type List[T any] struct {
	Value []T `json:"value"`
}

// SystemData records who created and last changed a resource.
type SystemData struct {
	CreatedAt          time.Time `json:"createdAt"`
	CreatedBy          string    `json:"createdBy"`
	CreatedByType      string    `json:"createdByType"`
	LastModifiedAt     time.Time `json:"lastModifiedAt"`
	LastModifiedBy     string    `json:"lastModifiedBy"`
	LastModifiedByType string    `json:"lastModifiedByType"`
}

// Hub is the parent resource; it lives in one region.
type Hub struct {
	ID         string            `json:"id,omitempty"`   // read-only: /hubs/{name}
	Name       string            `json:"name,omitempty"` // read-only: from the URL
	Location   string            `json:"location"`       // region, e.g. "eastus2"
	Tags       map[string]string `json:"tags,omitempty"`
	SystemData *SystemData       `json:"systemData,omitempty"` // read-only
}

// Project belongs to a hub and takes its region. Names are unique in the
// installation.
type Project struct {
	ID         string            `json:"id,omitempty"`       // read-only: /hubs/{hub}/projects/{name}
	Name       string            `json:"name,omitempty"`     // read-only
	Hub        string            `json:"hub,omitempty"`      // read-only
	Location   string            `json:"location,omitempty"` // read-only; if sent, must equal the hub's
	Tags       map[string]string `json:"tags,omitempty"`
	SystemData *SystemData       `json:"systemData,omitempty"`
}

// Provisioning states (properties.provisioningState).
const (
	ProvisioningCreating  = "Creating"
	ProvisioningUpdating  = "Updating"
	ProvisioningDeleting  = "Deleting"
	ProvisioningSucceeded = "Succeeded"
	ProvisioningFailed    = "Failed"
	ProvisioningCanceled  = "Canceled"
)

// Endpoint states (properties.endpointState).
const (
	EndpointStateUnknown        = "Unknown"
	EndpointStateCreating       = "Creating"
	EndpointStateOnline         = "Online"
	EndpointStateCreationFailed = "CreationFailed"
	EndpointStateDeleting       = "Deleting"
)

// ServerlessEndpoint is the ARM-shaped serverless endpoint resource.
type ServerlessEndpoint struct {
	ID         string                       `json:"id,omitempty"`   // read-only: /hubs/{hub}/projects/{project}/serverlessEndpoints/{name}
	Name       string                       `json:"name,omitempty"` // read-only
	Type       string                       `json:"type,omitempty"` // read-only
	Location   string                       `json:"location,omitempty"`
	SKU        *SKU                         `json:"sku,omitempty"`
	Kind       string                       `json:"kind,omitempty"`
	Tags       map[string]string            `json:"tags,omitempty"`
	Properties ServerlessEndpointProperties `json:"properties"`
	SystemData *SystemData                  `json:"systemData,omitempty"`
}

// SKU of a serverless endpoint; only "Consumption" is offered.
type SKU struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

// ServerlessEndpointProperties are the writable and read-only properties.
type ServerlessEndpointProperties struct {
	ModelSettings     *ModelSettings     `json:"modelSettings,omitempty"`
	AuthMode          string             `json:"authMode,omitempty"` // "Key"
	ContentSafety     *ContentSafety     `json:"contentSafety,omitempty"`
	InferenceEndpoint *InferenceEndpoint `json:"inferenceEndpoint,omitempty"` // read-only
	ProvisioningState string             `json:"provisioningState,omitempty"` // read-only
	EndpointState     string             `json:"endpointState,omitempty"`     // read-only
	FailureReason     string             `json:"failureReason,omitempty"`     // read-only; why provisioning failed
}

// ModelSettings names the catalog model, without a version.
type ModelSettings struct {
	ModelID string `json:"modelId"` // azureml://registries/azureml/models/<Name>
}

// ContentSafety toggles the content filter: "Enabled" or "Disabled".
type ContentSafety struct {
	ContentSafetyStatus string `json:"contentSafetyStatus"`
}

// InferenceEndpoint is where the data plane serves the endpoint.
type InferenceEndpoint struct {
	URI     string            `json:"uri"`
	Headers map[string]string `json:"headers,omitempty"`
}

// EndpointPatch is the body of PATCH .../serverlessEndpoints/{name}.
type EndpointPatch struct {
	Tags       map[string]string        `json:"tags,omitempty"`
	Properties *EndpointPatchProperties `json:"properties,omitempty"`
}

// EndpointPatchProperties are the properties PATCH may change.
type EndpointPatchProperties struct {
	ContentSafety *ContentSafety `json:"contentSafety,omitempty"`
}

// EndpointKeys is the answer of listKeys and regenerateKeys.
type EndpointKeys struct {
	PrimaryKey   string `json:"primaryKey"`
	SecondaryKey string `json:"secondaryKey"`
}

// RegenerateKeysRequest asks for a new primary or secondary key.
type RegenerateKeysRequest struct {
	KeyType  string `json:"keyType"`            // "Primary" or "Secondary" (case-insensitive)
	KeyValue string `json:"keyValue,omitempty"` // optional explicit 32-character value
}

// Quota is an endpoint's rate limit.
type Quota struct {
	TokensPerMinute   int64 `json:"tokensPerMinute"`   // prompt+completion tokens per minute; default 200000
	RequestsPerMinute int64 `json:"requestsPerMinute"` // requests per minute; default 1000
}

// Principal is an identity that calls the management API with a bearer token.
type Principal struct {
	ID        string    `json:"id,omitempty"`    // read-only
	Name      string    `json:"name"`            // display name
	Token     string    `json:"token,omitempty"` // only in the answer that creates it
	CreatedAt time.Time `json:"createdAt,omitempty"`
}

// Built-in role names.
const (
	RoleOwner       = "Owner"
	RoleContributor = "Contributor"
	RoleDeveloper   = "Azure AI Developer"
	RoleReader      = "Reader"
)

// RoleAssignment grants a role to a principal at a scope: "/", "/hubs/{hub}"
// or "/hubs/{hub}/projects/{project}". A role covers the scope and all below it.
type RoleAssignment struct {
	ID                 string    `json:"id,omitempty"` // read-only: from the URL
	PrincipalID        string    `json:"principalId"`
	RoleDefinitionName string    `json:"roleDefinitionName"`
	Scope              string    `json:"scope"`
	CreatedAt          time.Time `json:"createdAt,omitempty"`
}
