package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"maas/api/inference"
)

// apiError is every error the gateway answers with: an HTTP status, a code
// (also sent as x-ms-error-code), a message, and for 422 the offending
// location and value.
type apiError struct {
	status     int
	code       string
	message    string
	param      string        // the top-level field at fault, if any
	loc        []any         // 422 detail.loc, e.g. ["body", "response_format"]
	input      any           // 422 detail.input
	retryAfter time.Duration // > 0 sets Retry-After and retry-after-ms
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// badField is a 400 about one field of the body.
func badField(field, format string, args ...any) *apiError {
	e := errf(http.StatusBadRequest, "invalid_request_error", format, args...)
	e.param = field
	return e
}

// invalidValue is a 422 whose detail points at loc with the value found.
func invalidValue(code, msg string, input any, loc ...any) *apiError {
	e := &apiError{status: http.StatusUnprocessableEntity, code: code, message: msg, input: input}
	e.loc = append([]any{"body"}, loc...)
	if s, ok := loc[0].(string); ok {
		e.param = s
	}
	return e
}

// notSupported is the spec's 422 parameter_not_supported.
func notSupported(input any, loc ...any) *apiError {
	e := invalidValue("parameter_not_supported", "One of the parameters contain invalid values.", input, loc...)
	e.message = fmt.Sprintf("One of the parameters contain invalid values: %s is not supported by this model.", locString(loc))
	return e
}

func locString(loc []any) string {
	s := ""
	for i, p := range loc {
		switch v := p.(type) {
		case int:
			s += "[" + strconv.Itoa(v) + "]"
		default:
			if i > 0 {
				s += "."
			}
			s += fmt.Sprint(v)
		}
	}
	return s
}

// writeError writes e in the spec's shape.
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-ms-error-code", e.code)
	if e.retryAfter > 0 {
		setRetryAfter(h, e.retryAfter)
	}
	body := inference.ErrorResponse{Error: &inference.ErrorDetail{Code: e.code, Message: e.message, Status: e.status}}
	if e.param != "" {
		p := e.param
		body.Error.Param = &p
	}
	if e.loc != nil {
		body.Status, body.Code, body.Message = e.status, e.code, e.message
		body.Detail = &inference.Detail{Loc: e.loc, Input: e.input}
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(body)
}

// setRetryAfter sets Retry-After (whole seconds, rounded up, at least 1) and
// retry-after-ms.
func setRetryAfter(h http.Header, d time.Duration) {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	if ms < 1 {
		ms = 1
	}
	h.Set("Retry-After", strconv.FormatInt(secs, 10))
	h.Set("retry-after-ms", strconv.FormatInt(ms, 10))
}
