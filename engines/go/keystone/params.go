package keystone

import (
	"bytes"
	"encoding/json"
)

// Script parameters (docs/engine-protocol.md, "Script parameters"): the optional top-level
// "params" of a decide or respond request, a tenant's own values for a script it shares with other
// tenants. A handler sees them as Request.Params and Response.Params.

const (
	maxParamsDepth = 16       // the params object itself is level 1
	maxParamsBytes = 64 << 10 // as compact JSON, in UTF-8
)

// params is one call's parameters as the SDK keeps them: the map the handler is given, and its
// JSON text as it was before the handler ran (nil without params: the map is then a new, empty
// one), to tell afterwards whether the handler changed it.
type params struct {
	m    map[string]any
	text []byte
}

// noParams is a call's params when its request has none: an empty map of its own, nothing parsed.
func noParams() params { return params{m: map[string]any{}} }

// parseParams reads the "params" of a decide or respond body: an object (null is not taken as
// absent), at most 16 levels deep, numbers a float64 holds, at most 64 KiB as compact JSON. The
// decoded map is the call's own (the body is decoded for each request): its numbers are made
// float64 in place, as encoding/json decodes into any.
func parseParams(o object) (params, error) {
	v, present := o["params"]
	if !present {
		return noParams(), nil
	}
	m, ok := v.(object)
	if !ok {
		return params{}, bad("params: a JSON object expected")
	}
	size := 0
	if err := plainParams(m, 1, &size); err != nil {
		return params{}, err
	}
	text, err := paramsText(m)
	if err != nil {
		return params{}, bad("params: %s", err.Error())
	}
	if len(text) > maxParamsBytes {
		return params{}, tooLargeParams()
	}
	return params{m: m, text: text}, nil
}

func tooLargeParams() error { return bad("params: larger than %d bytes", maxParamsBytes) }

// plainParams walks a params value at level `depth`, turning its json.Numbers into float64 (in
// place) and refusing a level deeper than maxParamsDepth or a number no float64 holds (1e400). It
// adds to *size a lower bound of the value's compact JSON size and stops as soon as that passes
// the limit: a params of megabytes costs no more to refuse than one of 64 KiB.
func plainParams(v any, depth int, size *int) error {
	switch x := v.(type) {
	case map[string]any:
		if depth > maxParamsDepth {
			return bad("params: nested deeper than %d levels", maxParamsDepth)
		}
		*size += 2
		for k, e := range x {
			*size += len(k) + 3
			if n, ok := e.(json.Number); ok {
				f, err := paramNumber(n, size)
				if err != nil {
					return err
				}
				x[k] = f // an existing key: allowed while ranging over the map
			} else if err := plainParams(e, depth+1, size); err != nil {
				return err
			}
			if *size > maxParamsBytes {
				return tooLargeParams()
			}
		}
	case []any:
		if depth > maxParamsDepth {
			return bad("params: nested deeper than %d levels", maxParamsDepth)
		}
		*size += 2
		for i, e := range x {
			*size++
			if n, ok := e.(json.Number); ok {
				f, err := paramNumber(n, size)
				if err != nil {
					return err
				}
				x[i] = f
			} else if err := plainParams(e, depth+1, size); err != nil {
				return err
			}
			if *size > maxParamsBytes {
				return tooLargeParams()
			}
		}
	case string:
		*size += len(x) + 2
	default: // true, false, null
		*size += 4
	}
	return nil
}

func paramNumber(n json.Number, size *int) (float64, error) {
	*size += len(n)
	f, err := n.Float64()
	if err != nil {
		return 0, bad("params: a number out of range")
	}
	return f, nil
}

// paramsText is params as compact JSON, without HTML escaping (as the other engines write it).
func paramsText(m map[string]any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// changed is the script error for a handler that changed its params, or nil. Go has no read-only
// maps: the handler's map is the call's own copy, so a change reaches no other call, but it is a
// misuse all the same, found when the handler returns (what it wrote is compared, not where:
// the error names the handler's file, no line).
func (p params) changed(file string) *ScriptError {
	if p.text == nil {
		if len(p.m) == 0 {
			return nil
		}
	} else if text, err := paramsText(p.m); err == nil && bytes.Equal(text, p.text) {
		return nil
	}
	return &ScriptError{Pos: file, Message: "params are read-only: the handler changed them (copy them to change a copy)"}
}
