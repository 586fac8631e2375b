package gateway

import (
	"net/http"
	"strings"

	"maas/api/inference"
)

// serveInfo answers GET /info.
func (g *Gateway) serveInfo(c *call) *apiError {
	provider := c.ep.Model.Provider
	if provider == "" {
		provider = "Microsoft"
	}
	writeJSON(c.w, http.StatusOK, inference.ModelInfo{
		ModelName:         c.ep.Model.Name,
		ModelType:         "chat-completions",
		ModelProviderName: provider,
	})
	return nil
}

// serveModels answers GET /v1/models with the endpoint the key opens; its
// id is the endpoint name, which "model" in a request may name.
func (g *Gateway) serveModels(c *call) *apiError {
	owner := c.ep.Model.Provider
	if owner == "" {
		owner = "Microsoft"
	}
	writeJSON(c.w, http.StatusOK, inference.ModelList{
		Object: inference.ObjectList,
		Data: []inference.ModelEntry{{
			ID:      c.ep.Name,
			Object:  inference.ObjectModel,
			Created: c.g.opts.Now().Unix(),
			OwnedBy: owner,
		}},
	})
	return nil
}

// serveUnsupported answers routes the model does not serve: other modalities
// get the spec's 404 "Modality not supported by the model".
func (g *Gateway) serveUnsupported(c *call) *apiError {
	rest := strings.Trim(c.r.PathValue("rest"), "/")
	rest = strings.TrimPrefix(rest, "v1/")
	switch rest {
	case "embeddings", "images/embeddings", "images/generations", "audio/transcriptions", "audio/speech":
		return errf(http.StatusNotFound, "not_found", "Modality not supported by the model.")
	case "chat/completions", "completions", "info", "models":
		return errf(http.StatusMethodNotAllowed, "method_not_allowed", "Method %s is not allowed here.", c.r.Method)
	}
	return errf(http.StatusNotFound, "not_found", "No route %s %s.", c.r.Method, c.r.URL.Path)
}
