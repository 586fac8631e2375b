package inference

import (
	"bytes"
	"encoding/json"
	"errors"
)

// CompletionRequest is the body of POST /completions (legacy text completion).
type CompletionRequest struct {
	Prompt           PromptText     `json:"prompt"`
	Model            string         `json:"model,omitempty"`
	MaxTokens        *int           `json:"max_tokens,omitempty"`
	Temperature      *float64       `json:"temperature,omitempty"`
	TopP             *float64       `json:"top_p,omitempty"`
	Stop             StopSequences  `json:"stop,omitempty"`
	Stream           bool           `json:"stream,omitempty"`
	StreamOptions    *StreamOptions `json:"stream_options,omitempty"`
	Seed             *int64         `json:"seed,omitempty"`
	PresencePenalty  *float64       `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64       `json:"frequency_penalty,omitempty"`
	User             string         `json:"user,omitempty"`

	LogitBias map[string]float64 `json:"logit_bias,omitempty"`
	Logprobs  *int               `json:"logprobs,omitempty"` // number of alternatives, [0, 5]
	N         *int               `json:"n,omitempty"`
}

// PromptText is a string or a one-element array of strings on the wire.
type PromptText string

// UnmarshalJSON accepts a string or an array holding exactly one string.
func (p *PromptText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var many []string
		if err := json.Unmarshal(b, &many); err != nil {
			return errors.New("prompt must be a string or an array of one string")
		}
		if len(many) != 1 {
			return errors.New("prompt arrays must hold exactly one string")
		}
		*p = PromptText(many[0])
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("prompt must be a string or an array of one string")
	}
	*p = PromptText(s)
	return nil
}

// Completion is the response of POST /completions; streamed chunks have the
// same shape with partial text.
type Completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"` // "text_completion"
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []CompletionChoice `json:"choices"`
	Usage   *Usage             `json:"usage,omitempty"`
}

// CompletionChoice is one generated text.
type CompletionChoice struct {
	Index        int                 `json:"index"`
	Text         string              `json:"text"`
	FinishReason *string             `json:"finish_reason"`
	Logprobs     *CompletionLogprobs `json:"logprobs"`
}

// CompletionLogprobs is the legacy log-probability shape.
type CompletionLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

// ModelInfo is the body of GET /info.
type ModelInfo struct {
	ModelName         string `json:"model_name"`
	ModelType         string `json:"model_type"` // "chat-completions"
	ModelProviderName string `json:"model_provider_name"`
}

// ModelList is the body of GET /v1/models.
type ModelList struct {
	Object string       `json:"object"` // "list"
	Data   []ModelEntry `json:"data"`
}

// ModelEntry is one model a key can call.
type ModelEntry struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}
