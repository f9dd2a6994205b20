package keystone

import (
	"context"
	"net/url"
	"strings"
)

// Backend is one of the tenant's backends as the gateway reports it, with its current health.
type Backend struct {
	Name    string            `json:"name"`
	URL     string            `json:"url"`
	Healthy bool              `json:"healthy"`
	Weight  int               `json:"weight"`
	Labels  map[string]string `json:"labels"`
}

// Request is what a handler's OnRequest sees of the client's request (docs/scripting.md, "The
// request"), and where it edits the request on its way to the backend. The exported fields are
// the handler's own copy; the edits go through SetHeader, RemoveHeader, SetPath and SetQuery,
// which check them as the gateway will.
type Request struct {
	Method      string // "GET", "POST", ...
	Path        string // as forwarded, after the tenant's path_prefix is stripped
	RawPath     string // as the client sent it (Path when the gateway did not say)
	QueryString string // the raw query, "" when none
	Host        string // lower case, without port; "" when the gateway did not say
	ClientIP    string // "" when the gateway did not say
	Tenant      string
	RequestID   string // "-" when the gateway did not say
	// Params are the tenant's parameters for this script (docs/engine-protocol.md, "Script
	// parameters"), as encoding/json decodes an object into any: float64 numbers, strings, bools,
	// nil, []any and map[string]any. Never nil: an empty map when the gateway sent none. Read-only:
	// the map is this call's own copy, and a handler that changes it (or anything within it) fails
	// its call with a script error once it returns; copy what you want to change.
	Params map[string]any

	params   params
	headers  [][2]string
	backends []Backend
	body     []byte
	hasBody  bool
	query    map[string]string
	call     *call
}

// Header is the first value of the named header, the name compared ignoring case; "" when the
// request has none (LookupHeader tells an empty value from a missing header).
func (r *Request) Header(name string) string {
	v, _ := lookupHeader(r.headers, name)
	return v
}

// LookupHeader is the first value of the named header and whether the request has it.
func (r *Request) LookupHeader(name string) (string, bool) { return lookupHeader(r.headers, name) }

// HeaderValues is every value of the named header, in order; empty (not nil) when none.
func (r *Request) HeaderValues(name string) []string { return headerValues(r.headers, name) }

// Headers is every header as [name, value] pairs, in order, repeats included.
func (r *Request) Headers() [][2]string { return append([][2]string(nil), r.headers...) }

// Query is the query as a map: ?a=1&b=x%20y gives {"a": "1", "b": "x y"} (+ is a space too; a
// repeated name keeps its first value; a bad %-escape is kept as it is).
func (r *Request) Query() map[string]string {
	if r.query == nil {
		r.query = queryMap(r.QueryString)
	}
	out := make(map[string]string, len(r.query))
	for k, v := range r.query {
		out[k] = v
	}
	return out
}

// Backends is the tenant's backends, in the gateway's order (a copy).
func (r *Request) Backends() []Backend {
	out := make([]Backend, len(r.backends))
	for i, b := range r.backends {
		out[i] = b
		out[i].Labels = copyLabels(b.Labels)
	}
	return out
}

// Backend is the tenant's backend of that name, and whether it has one.
func (r *Request) Backend(name string) (Backend, bool) {
	for _, b := range r.backends {
		if b.Name == name {
			b.Labels = copyLabels(b.Labels)
			return b, true
		}
	}
	return Backend{}, false
}

// HasBody is whether the gateway sent the request's body: only for a tenant with script_body
// (docs/engine-protocol.md), and then also for an empty one.
func (r *Request) HasBody() bool { return r.hasBody }

// Body is the request body as a string of bytes (Go strings hold any bytes), "" without one.
func (r *Request) Body() string { return string(r.body) }

// BodyBytes is the request body's bytes (a copy), nil without a body.
func (r *Request) BodyBytes() []byte {
	if !r.hasBody {
		return nil
	}
	return append([]byte{}, r.body...)
}

// Context is done when the call's deadline passes (or the gateway hangs up). Go cannot stop a
// goroutine: a handler that loops or waits must watch it, or it runs on after its answer was
// given (README.md, "Trust and isolation").
func (r *Request) Context() context.Context { return r.call.ctx }

// KV is the tenant's key/value store.
func (r *Request) KV() *Store { return r.call.engine.stores.of(r.Tenant) }

// Log writes a line to the engine's log, tagged with the tenant and request id (fmt.Sprint of
// each argument, joined by spaces; at most 20 lines a call, 100 a second per tenant).
func (r *Request) Log(args ...any) { r.call.log(args) }

// SetHeader sets a header sent to the backend. A name that is not a token or that frames the
// message (Content-Length, Connection, ...), a value with control characters, or more than 100
// header edits or 64 KiB of them is a script error at the caller's line.
func (r *Request) SetHeader(name, value string) { r.call.editHeader(name, &value) }

// RemoveHeader removes a header on the way to the backend (same rules as SetHeader).
func (r *Request) RemoveHeader(name string) { r.call.editHeader(name, nil) }

// SetPath forwards this path instead: it starts with '/', URI characters only (percent-encode
// the rest), no '?' or '#', at most 8 KiB, and no '.' or '..' segment however a backend decodes it.
func (r *Request) SetPath(p string) {
	if problem := pathProblem(p); problem != "" {
		misuse(0, "set_path: %s", problem)
	}
	r.call.path = &p
}

// SetQuery forwards this query instead ("" for none; a leading '?' is dropped).
func (r *Request) SetQuery(q string) {
	q = strings.TrimPrefix(q, "?")
	if problem := queryProblem(q); problem != "" {
		misuse(0, "set_query: %s", problem)
	}
	r.call.query = &q
}

func lookupHeader(headers [][2]string, name string) (string, bool) {
	for _, h := range headers {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

func headerValues(headers [][2]string, name string) []string {
	out := []string{}
	for _, h := range headers {
		if strings.EqualFold(h[0], name) {
			out = append(out, h[1])
		}
	}
	return out
}

// queryMap reads a=1&b=x%20y as {a: "1", b: "x y"}; a repeated name keeps its first value.
func queryMap(q string) map[string]string {
	out := map[string]string{}
	for _, pair := range strings.Split(q, "&") {
		if pair == "" {
			continue
		}
		k, v, found := strings.Cut(pair, "=")
		k = unescape(k)
		if _, seen := out[k]; seen {
			continue
		}
		if found {
			out[k] = unescape(v)
		} else {
			out[k] = ""
		}
	}
	return out
}

// unescape is a query component %- and +-decoded, or as it was when an escape is bad (as the Lua
// and JavaScript engines give it).
func unescape(s string) string {
	d, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return d
}

func copyLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
