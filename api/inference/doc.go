// Package inference holds the wire types of the data plane: the Azure AI Model
// Inference API (chat completions, completions, info) and its OpenAI-compatible
// twin, as JSON bodies. It imports only the standard library so that clients
// and tests can use it without pulling in the server.
package inference
