package v1

// Model is a catalog entry: built in or added by the operator with
// PUT /api/models/{name}.
type Model struct {
	Name           string        `json:"name,omitempty"`      // read-only: from the URL
	CatalogID      string        `json:"catalogId,omitempty"` // default azureml://registries/azureml/models/{name}
	Publisher      string        `json:"publisher,omitempty"` // "Microsoft"
	Description    string        `json:"description,omitempty"`
	Parameters     string        `json:"parameters,omitempty"`      // e.g. "3.8B"
	ContextLength  int           `json:"contextLength,omitempty"`   // input tokens
	MaxOutput      int           `json:"maxOutputTokens,omitempty"` // output tokens
	Regions        []string      `json:"regions"`                   // regions offering it serverless
	Pricing        *Pricing      `json:"pricing"`
	LifecycleStage string        `json:"lifecycleStage,omitempty"` // Preview|GenerallyAvailable|Legacy|Deprecated|Retired
	Capabilities   *Capabilities `json:"capabilities,omitempty"`
	Architecture   string        `json:"architecture,omitempty"` // GGUF general.architecture, e.g. "phi3"
	Shape          *ModelShape   `json:"shape,omitempty"`        // expected hyper-parameters of the weights
	Weights        []WeightFile  `json:"weights,omitempty"`      // downloadable GGUF files
	File           string        `json:"file,omitempty"`         // local GGUF path used by the built-in engine
	Upstream       string        `json:"upstream,omitempty"`     // base URL of an OpenAI-compatible server
	UpstreamModel  string        `json:"upstreamModel,omitempty"`
	Source         string        `json:"source,omitempty"` // read-only: "builtin" or "operator"
	Ready          bool          `json:"ready"`            // read-only: weights present locally or an upstream set
}

// Pricing is pay-as-you-go USD per 1,000 tokens.
type Pricing struct {
	InputPer1K  float64 `json:"inputPer1K"`
	OutputPer1K float64 `json:"outputPer1K"`
}

// Capabilities of a model on the inference API.
type Capabilities struct {
	SystemRole bool `json:"systemRole"` // accepts role=system (otherwise mapped to user)
	Tools      bool `json:"tools"`
	JSONMode   bool `json:"jsonMode"`
}

// ModelShape is what imported weights must match; zero fields are not checked.
type ModelShape struct {
	EmbeddingLength   int `json:"embeddingLength,omitempty"`
	BlockCount        int `json:"blockCount,omitempty"`
	HeadCount         int `json:"headCount,omitempty"`
	HeadCountKV       int `json:"headCountKV,omitempty"`
	FeedForwardLength int `json:"feedForwardLength,omitempty"`
	VocabSize         int `json:"vocabSize,omitempty"`
	ContextLength     int `json:"contextLength,omitempty"`
}

// WeightFile is one downloadable GGUF file of a catalog model.
type WeightFile struct {
	File         string `json:"file"`             // file name inside <data dir>/models
	URL          string `json:"url"`              // download URL
	SizeBytes    int64  `json:"sizeBytes"`        // 0 when unknown
	SHA256       string `json:"sha256,omitempty"` // hex; empty when not verified
	Quantization string `json:"quantization,omitempty"`
}

// ImportRequest registers a local GGUF file for a catalog model
// (POST /api/models/{name}/import).
type ImportRequest struct {
	File string `json:"file"` // absolute path on the server's file system
}

// UsageRow is one group of GET /api/projects/{project}/usage.
type UsageRow struct {
	Key              string  `json:"key"` // endpoint name, day (YYYY-MM-DD) or model, by groupBy
	Requests         int64   `json:"requests"`
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	TotalTokens      int64   `json:"totalTokens"`
	InputCost        float64 `json:"inputCost"`  // USD
	OutputCost       float64 `json:"outputCost"` // USD
	TotalCost        float64 `json:"totalCost"`  // USD
}

// UsageReport is the JSON answer of the usage API.
type UsageReport struct {
	Project string     `json:"project"`
	GroupBy string     `json:"groupBy"`
	Value   []UsageRow `json:"value"`
}
