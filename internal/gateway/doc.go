// Package gateway is the inference data plane: the Azure AI Model Inference
// API (/chat/completions, /completions, /info) and its OpenAI-compatible twin
// (/v1/chat/completions, /v1/models) for every serverless endpoint.
//
// It authenticates keys and routes requests with the immutable snapshot the
// control plane publishes (no database on the request path), checks requests
// against the model's capabilities and context length, reserves per-endpoint
// token and request quotas, runs the model through the Backend interface,
// writes JSON or server-sent events, emits exactly one usage record per
// request that reached the model, and exposes Prometheus metrics. On
// endpoints with content safety on, a ContentFilter rates the prompts and
// completions of the Azure routes (safety.go; implementations in
// contentsafety/).
//
// It imports api/inference and internal/snapshot; never the control plane, the
// store or the engine. internal/app adapts the engine to Backend.
package gateway
