package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
)

// extraMode is the extra-parameters header: what to do with body fields that
// are not in the API's schema.
type extraMode int

const (
	extraError       extraMode = iota // 400 naming the field (default)
	extraDrop                         // remove them ("drop", or "ignore" on the older reference)
	extraPassThrough                  // give them to the model
)

func parseExtraMode(r *http.Request) (extraMode, *apiError) {
	v := r.Header.Get("extra-parameters")
	if v == "" {
		v = r.Header.Get("extra-params") // the spelling of one JavaScript sample
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "error":
		return extraError, nil
	case "drop", "ignore":
		return extraDrop, nil
	case "pass-through", "pass_through", "passthrough":
		return extraPassThrough, nil
	}
	return 0, errf(http.StatusBadRequest, "invalid_request_error",
		"Header 'extra-parameters' must be one of error, drop, ignore or pass-through; got %q.", v)
}

// readBody reads the request body under the size limit and splits the top
// level object into its fields.
func (c *call) readBody() (map[string]json.RawMessage, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, c.g.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errf(http.StatusRequestEntityTooLarge, "payload_too_large",
				"The request body is larger than %d bytes.", tooBig.Limit)
		}
		return nil, errf(http.StatusBadRequest, "invalid_request_error", "Reading the request body failed: %v.", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, errf(http.StatusBadRequest, "invalid_request_error", "The request body must be a JSON object.")
		}
		return nil, errf(http.StatusBadRequest, "invalid_request_error", "The request body is not valid JSON: %v.", err)
	}
	if fields == nil {
		return nil, errf(http.StatusBadRequest, "invalid_request_error", "The request body must be a JSON object.")
	}
	return fields, nil
}

// schema maps body field names to where they decode.
type schema struct {
	std    map[string]any // fields of the surface's schema
	extras map[string]any // pass-through extras the model understands (Azure surface)
}

// decode decodes fields into s's targets under the extra-parameters mode.
// Unknown fields under pass-through are returned for an upstream model, or
// refused with 422 for the built-in engine (it does not understand them).
func decode(fields map[string]json.RawMessage, s schema, mode extraMode, upstream bool) (map[string]any, *apiError) {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	var pass map[string]any
	for _, name := range names {
		raw := fields[name]
		target, ok := s.std[name]
		if !ok {
			target, ok = s.extras[name]
			if ok {
				switch mode {
				case extraError:
					return nil, extraNotAllowed(name)
				case extraDrop:
					continue
				}
			}
		}
		if !ok {
			switch mode {
			case extraError:
				return nil, extraNotAllowed(name)
			case extraDrop:
				continue
			}
			if !upstream {
				var v any
				_ = json.Unmarshal(raw, &v)
				return nil, notSupported(v, name)
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, badField(name, "Invalid value for '%s': %v.", name, err)
			}
			if pass == nil {
				pass = make(map[string]any)
			}
			pass[name] = v
			continue
		}
		if err := json.Unmarshal(raw, target); err != nil {
			return nil, badField(name, "Invalid value for '%s': %s.", name, describeJSONError(name, err))
		}
	}
	return pass, nil
}

func extraNotAllowed(name string) *apiError {
	return badField(name, "Extra parameter '%s' is not allowed when 'extra-parameters' is not set or is 'error'. "+
		"Set 'extra-parameters' to 'drop' or 'pass-through' to change this.", name)
}

// describeJSONError turns a decoding error into "expected a number, got string".
func describeJSONError(name string, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		where := ""
		if te.Field != "" {
			where = " at '" + name + "." + te.Field + "'"
		}
		return fmt.Sprintf("expected %s%s, got %s", jsonKind(te.Type), where, te.Value)
	}
	return err.Error()
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}
