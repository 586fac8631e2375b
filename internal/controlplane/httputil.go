package controlplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	apiv1 "maas/api/v1"
	"maas/internal/store"
)

// apiError is an error with an HTTP status and an error code for the body.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "BadRequest", format, args...)
}

// handlerFunc serves one route for an authenticated caller.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *caller) error

// wrap authenticates the caller, runs f and renders its error.
func (cp *ControlPlane) wrap(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := cp.authenticate(r)
		if err == nil {
			r.Body = http.MaxBytesReader(w, r.Body, cp.opts.MaxBodyBytes)
			err = f(w, r, c)
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				ae = cp.mapError(r, err)
			}
			writeError(w, ae)
		}
	})
}

// mapError turns store and unexpected errors into API errors.
func (cp *ControlPlane) mapError(r *http.Request, err error) *apiError {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "NotFound", "%v", err)
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, "Conflict", "%v", err)
	}
	cp.opts.Logger.Error("management request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return errorf(http.StatusInternalServerError, "InternalError", "internal error: %v", err)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, apiv1.ErrorResponse{Error: apiv1.ErrorBody{Code: e.code, Message: e.msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// decode reads one JSON value into v, refusing unknown fields, wrong types,
// trailing data and bodies over the size limit with errors naming the cause.
// An empty body is an error when required, else leaves v as it is.
func decode(r *http.Request, v any, required bool) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "RequestTooLarge", "request body is larger than %d bytes", mbe.Limit)
		}
		return badRequest("read request body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		if required {
			return errorf(http.StatusBadRequest, "InvalidRequestContent", "request body is required")
		}
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "InvalidRequestContent", "unexpected data after the JSON value")
	}
	return nil
}

// jsonError names the offending field of a decoding error.
func jsonError(err error) *apiError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return errorf(http.StatusBadRequest, "InvalidRequestContent", "request body must be a JSON %s, not %s", te.Type.Kind(), te.Value)
		}
		return errorf(http.StatusBadRequest, "InvalidRequestContent", "field %q must be of type %s, not %s", field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return errorf(http.StatusBadRequest, "InvalidRequestContent", "malformed JSON at byte %d: %v", se.Offset, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return errorf(http.StatusBadRequest, "InvalidRequestContent", "unknown field %s", name)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "InvalidRequestContent", "malformed JSON: unexpected end of body")
	}
	return errorf(http.StatusBadRequest, "InvalidRequestContent", "invalid JSON: %v", err)
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "int32", "float64", "float32", "uint", "uint64":
		return "number"
	case "struct", "map":
		return "object"
	case "slice":
		return "array"
	case "bool":
		return "boolean"
	}
	return k
}
