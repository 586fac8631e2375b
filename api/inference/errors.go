package inference

// ErrorResponse is every error body. Error is the nested envelope that OpenAI
// and Azure SDKs read (error.code, error.message). For 422 the Azure
// validation fields are also set at the top level: status, code, message and
// detail {loc, input}.
type ErrorResponse struct {
	Error   *ErrorDetail `json:"error"`
	Status  int          `json:"status,omitempty"`
	Code    string       `json:"code,omitempty"`
	Message string       `json:"message,omitempty"`
	Detail  *Detail      `json:"detail,omitempty"`
}

// ErrorDetail is the nested error.
type ErrorDetail struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Status  int     `json:"status"`
	Type    *string `json:"type"`
	Param   *string `json:"param"`
}

// Detail points at the offending part of a request: Loc is a path such as
// ["body", "messages", 0, "content"], Input the value found there.
type Detail struct {
	Loc   []any `json:"loc"`
	Input any   `json:"input"`
}
