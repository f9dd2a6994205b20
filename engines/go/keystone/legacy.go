package keystone

import "context"

// The original engine's interface (POST /route/{tenant}, docs/engine-protocol.md): a script of
// it has OnRouteRequest(request, backends) and returns the original answer. Kept for old
// deployments; new scripts use OnRequest, which /route/{tenant}?script=NAME also runs.

// LegacyRequest is the request an OnRouteRequest handler sees.
type LegacyRequest struct {
	Method string
	Path   string
	Host   string
	Body   string // always "": the original interface never gave scripts the body

	headers [][2]string
	tenant  string
	call    *call
}

// Header is the first value of the named header, ignoring case.
func (r *LegacyRequest) Header(name string) string {
	v, _ := lookupHeader(r.headers, name)
	return v
}

// Context is done when the call's deadline passes (see Request.Context).
func (r *LegacyRequest) Context() context.Context { return r.call.ctx }

// KV is the tenant's key/value store.
func (r *LegacyRequest) KV() *Store { return r.call.engine.stores.of(r.tenant) }

// Log writes a line to the engine's log (see Request.Log).
func (r *LegacyRequest) Log(args ...any) { r.call.log(args) }

// LegacyAnswer is what an OnRouteRequest handler returns (nil: no decision). Empty fields are
// left out; a reject without a reason is "rejected by script".
type LegacyAnswer struct {
	SelectedBackend string
	ModifiedHeaders map[string]string
	ModifiedPath    string
	Reject          bool
	RejectReason    string
}

// decided is a decision with its edits, checked, as both kinds of answer are made of it.
type decided struct {
	kind    decisionKind
	route   route
	status  int
	body    string
	headers map[string]string // respond
	reason  string
}

// legacyDecision checks what an OnRouteRequest handler returned, as CompatApi.java does, and
// records its edits in c; errors name the handler (pos), which has returned by now.
func legacyDecision(a *LegacyAnswer, c *call, tenant string, offered []Backend, pos string) (decided, *ScriptError) {
	fail := func(msg string) (decided, *ScriptError) { return decided{}, &ScriptError{Pos: pos, Message: msg} }
	var d decided
	if a == nil {
		return d, nil
	}
	for _, name := range sortedKeys(a.ModifiedHeaders) {
		value := a.ModifiedHeaders[name]
		if problem := valueProblem(value); problem != "" {
			return fail("modified_headers: " + problem)
		}
		if problem := nameProblem(name); problem != "" {
			return fail(problem)
		}
		if problem := c.tally.add(name, &value); problem != "" {
			return fail(problem)
		}
		c.headers.set(name, &value)
	}
	if p := a.ModifiedPath; p != "" {
		if p[0] != '/' {
			return fail("modified_path must start with '/', got '" + p + "'")
		}
		if problem := pathProblem(p); problem != "" {
			return fail("modified_path: " + problem)
		}
		c.path = &p
	}
	if a.Reject {
		d.kind, d.status, d.reason = kindReject, 403, a.RejectReason
		if d.reason == "" {
			d.reason = "rejected by script"
		}
		return d, nil
	}
	if name := a.SelectedBackend; name != "" {
		for _, b := range offered {
			if b.Name == name {
				d.kind, d.route = kindRoute, route{target: name, backends: []string{name}}
				return d, nil
			}
		}
		return fail("selected_backend: tenant " + tenant + " has no backend named '" + name + "'")
	}
	return d, nil
}

// compatAnswer is the original engine's answer: {selected_backend, modified_headers,
// modified_path, reject, reject_reason}. A respond becomes a rejection with the body as reason
// (the old format has no direct answer); header removals cannot be expressed and are dropped.
type compatAnswer struct {
	SelectedBackend string             `json:"selected_backend,omitempty"`
	ModifiedHeaders *map[string]string `json:"modified_headers,omitempty"`
	ModifiedPath    *string            `json:"modified_path,omitempty"`
	Reject          bool               `json:"reject,omitempty"`
	RejectReason    *string            `json:"reject_reason,omitempty"`
}

func toCompat(d decided, c *call, offered []Backend) compatAnswer {
	var out compatAnswer
	switch d.kind {
	case kindRoute: // the first healthy candidate, else the first
		var first, firstHealthy string
		for _, b := range offered {
			if !contains(d.route.backends, b.Name) {
				continue
			}
			if first == "" {
				first = b.Name
			}
			if firstHealthy == "" && b.Healthy {
				firstHealthy = b.Name
			}
		}
		out.SelectedBackend = firstHealthy
		if out.SelectedBackend == "" {
			out.SelectedBackend = first
		}
	case kindReject:
		out.Reject, out.RejectReason = true, &d.reason
	case kindRespond:
		out.Reject, out.RejectReason = true, &d.body
	}
	if !c.headers.empty() {
		set := map[string]string{}
		for k, v := range c.headers.values {
			if v != nil {
				set[k] = *v
			}
		}
		out.ModifiedHeaders = &set
	}
	out.ModifiedPath = c.path
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
