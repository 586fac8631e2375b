package inference

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Object names used in response bodies.
const (
	ObjectChatCompletion      = "chat.completion"
	ObjectChatCompletionChunk = "chat.completion.chunk"
	ObjectTextCompletion      = "text_completion"
	ObjectList                = "list"
	ObjectModel               = "model"
)

// Finish reasons.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishContentFilter = "content_filter"
	FinishToolCalls     = "tool_calls"
)

// Roles of chat messages.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// ChatCompletionRequest is the body of POST /chat/completions. Pointer fields
// are nil when absent. The gateway decodes it field by field so that a type
// error names the field; the struct is also what clients marshal.
type ChatCompletionRequest struct {
	Messages         []ChatRequestMessage `json:"messages"`
	Model            string               `json:"model,omitempty"`
	FrequencyPenalty *float64             `json:"frequency_penalty,omitempty"` // [-2, 2]
	PresencePenalty  *float64             `json:"presence_penalty,omitempty"`  // [-2, 2]
	MaxTokens        *int                 `json:"max_tokens,omitempty"`        // >= 1; nil: up to the context length
	Seed             *int64               `json:"seed,omitempty"`
	Stop             StopSequences        `json:"stop,omitempty"`
	Stream           bool                 `json:"stream,omitempty"`
	StreamOptions    *StreamOptions       `json:"stream_options,omitempty"`
	Temperature      *float64             `json:"temperature,omitempty"` // [0, 2]
	TopP             *float64             `json:"top_p,omitempty"`       // (0, 1]
	ResponseFormat   *ResponseFormat      `json:"response_format,omitempty"`
	Tools            json.RawMessage      `json:"tools,omitempty"`
	ToolChoice       json.RawMessage      `json:"tool_choice,omitempty"`
	User             string               `json:"user,omitempty"`

	// Extra parameters (pass-through on the Azure surface, standard on the
	// OpenAI one).
	LogitBias   map[string]float64 `json:"logit_bias,omitempty"`   // token id -> bias in [-100, 100]
	Logprobs    *bool              `json:"logprobs,omitempty"`     // return log-probabilities
	TopLogprobs *int               `json:"top_logprobs,omitempty"` // [0, 20], needs logprobs
	N           *int               `json:"n,omitempty"`            // number of choices
}

// StreamOptions tunes streaming responses.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// ResponseFormat is {"type":"text"} or {"type":"json_object"}.
type ResponseFormat struct {
	Type string `json:"type"`
}

// ChatRequestMessage is one input message.
type ChatRequestMessage struct {
	Role       string          `json:"role"`
	Content    MessageContent  `json:"content"`
	Name       string          `json:"name,omitempty"`
	ToolCalls  json.RawMessage `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

// MessageContent is a string or an array of content parts on the wire.
type MessageContent struct {
	Text  string        // the string form
	Parts []ContentPart // the array form; nil for the string form
}

// ContentPart is one part of an array content: text, image or image_url.
type ContentPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text,omitempty"`
	ImageURL json.RawMessage `json:"image_url,omitempty"`
}

// UnmarshalJSON accepts a string, null or an array of parts.
func (c *MessageContent) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*c = MessageContent{}
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = MessageContent{Text: s}
		return nil
	case len(b) > 0 && b[0] == '[':
		var parts []ContentPart
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		if parts == nil {
			parts = []ContentPart{}
		}
		*c = MessageContent{Parts: parts}
		return nil
	}
	return errors.New("content must be a string or an array of content parts")
}

// MarshalJSON writes the string form unless Parts is set.
func (c MessageContent) MarshalJSON() ([]byte, error) {
	if c.Parts != nil {
		return json.Marshal(c.Parts)
	}
	return json.Marshal(c.Text)
}

// StopSequences is a string or an array of strings on the wire.
type StopSequences []string

// UnmarshalJSON accepts a string, null or an array of strings.
func (s *StopSequences) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = StopSequences{one}
		return nil
	case len(b) > 0 && b[0] == '[':
		var many []string
		if err := json.Unmarshal(b, &many); err != nil {
			return errors.New("stop must be a string or an array of strings")
		}
		*s = many
		return nil
	}
	return errors.New("stop must be a string or an array of strings")
}

// ChatCompletion is the non-streaming response.
type ChatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`  // "chat.completion"
	Created           int64        `json:"created"` // Unix seconds
	Model             string       `json:"model"`   // the model's name, not the endpoint's
	SystemFingerprint string       `json:"system_fingerprint,omitempty"`
	Choices           []ChatChoice `json:"choices"`
	Usage             *Usage       `json:"usage"`
}

// ChatChoice is one generated answer.
type ChatChoice struct {
	Index        int                 `json:"index"`
	Message      ChatResponseMessage `json:"message"`
	FinishReason string              `json:"finish_reason"`
	Logprobs     *Logprobs           `json:"logprobs"`
}

// ChatResponseMessage is the assistant's message.
type ChatResponseMessage struct {
	Role      string          `json:"role"`
	Content   string          `json:"content"`
	ToolCalls json.RawMessage `json:"tool_calls"` // always null: Phi-3 has no tool calling
}

// Usage counts tokens of one request, all choices together.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

// Logprobs holds per-token log-probabilities of one choice.
type Logprobs struct {
	Content []TokenLogprob `json:"content"`
}

// TokenLogprob is the log-probability of one generated token and, when asked
// for, of the most likely alternatives at that position.
type TokenLogprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []TopLogprob `json:"top_logprobs"`
}

// TopLogprob is one alternative token.
type TopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// ChatCompletionChunk is one server-sent event of a streamed chat completion.
type ChatCompletionChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"` // "chat.completion.chunk"
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
	Choices           []ChunkChoice `json:"choices"`
	Usage             *Usage        `json:"usage,omitempty"`
}

// ChunkChoice is the delta of one choice.
type ChunkChoice struct {
	Index        int        `json:"index"`
	Delta        ChunkDelta `json:"delta"`
	FinishReason *string    `json:"finish_reason"`
	Logprobs     *Logprobs  `json:"logprobs"`
}

// ChunkDelta is new text; Role is set on the first chunk only.
type ChunkDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}
