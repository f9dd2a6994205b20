package keystone

import "context"

// Response is what OnResponse sees of the backend's response head (docs/scripting.md, "The
// response"), and where it changes the status and the headers. The body streams through the
// gateway untouched.
type Response struct {
	Status    int    // the backend's status
	Backend   string // the backend that answered
	Method    string
	Path      string
	Tenant    string
	RequestID string
	// Params are the tenant's parameters for this script, as Request.Params (read-only; an empty
	// map without them).
	Params map[string]any

	params  params
	headers [][2]string
	call    *call
}

// Header is the first value of the named response header, ignoring case; "" when none.
func (r *Response) Header(name string) string {
	v, _ := lookupHeader(r.headers, name)
	return v
}

// LookupHeader is the first value of the named response header and whether there is one.
func (r *Response) LookupHeader(name string) (string, bool) { return lookupHeader(r.headers, name) }

// HeaderValues is every value of the named response header, in order.
func (r *Response) HeaderValues(name string) []string { return headerValues(r.headers, name) }

// Context is done when the call's deadline passes (see Request.Context).
func (r *Response) Context() context.Context { return r.call.ctx }

// KV is the tenant's key/value store, the one OnRequest used.
func (r *Response) KV() *Store { return r.call.engine.stores.of(r.Tenant) }

// Log writes a line to the engine's log (see Request.Log).
func (r *Response) Log(args ...any) { r.call.log(args) }

// carriesBody: statuses whose responses carry a body, one can stand in for another without
// breaking the framing the backend chose.
func carriesBody(status int) bool {
	return status >= 200 && status <= 599 && status != 204 && status != 304
}

// SetStatus changes the status, only between statuses that carry a body (200-599 but 204 and
// 304); any other change is a script error at the caller's line.
func (r *Response) SetStatus(status int) {
	if from := r.call.original; !carriesBody(from) || !carriesBody(status) {
		misuse(0, "set_status: cannot change %d to %d (only between statuses 200-599 other than 204 and 304: the body framing must stay valid)", from, status)
	}
	r.call.status = status
}

// SetHeader sets a response header (the rules of Request.SetHeader; at most 100 edits).
func (r *Response) SetHeader(name, value string) { r.call.editHeader(name, &value) }

// RemoveHeader removes a response header.
func (r *Response) RemoveHeader(name string) { r.call.editHeader(name, nil) }
