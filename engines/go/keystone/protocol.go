package keystone

import (
	"encoding/json"
	"time"
)

// The protocol's JSON, version 1 (docs/engine-protocol.md): a decide or respond request becomes
// the Request or Response a handler sees (checked in the order and with the messages of
// engine/EngineProtocol.java), and a decision becomes the answer.

const protocolVersion = 1

// scriptOf is the script's name, checked before anything else, as in Java.
func scriptOf(o object) (string, error) {
	s, ok := o["script"].(string)
	if !ok || s == "" {
		return "", bad("script: required, the name of a script in the engine's directory")
	}
	return s, nil
}

// deadlineOf is the gateway's deadline for the call (deadline_ms, optional; 0 when absent).
func deadlineOf(o object) (time.Duration, error) {
	v, present := o["deadline_ms"]
	if !present || v == nil {
		return 0, nil
	}
	ms, ok := wholeNumber(v)
	if !ok || ms < 1 || ms > 3600000 {
		return 0, bad("deadline_ms: a whole number of milliseconds, 1 to 3600000")
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// parseRequest is the request of POST /v1/decide (withBackends) or POST /v1/respond, params
// (checked last) included.
func parseRequest(o object, withBackends bool) (*Request, error) {
	var backends []Backend
	if withBackends {
		raw, err := listOf(o, "backends")
		if err != nil {
			return nil, err
		}
		if backends, err = parseBackends(raw); err != nil {
			return nil, err
		}
	}
	r, ok := asObject(o["request"])
	if !ok {
		return nil, bad("request: required, an object")
	}
	rawHeaders, err := listOf(r, "headers")
	if err != nil {
		return nil, err
	}
	headers, err := headerPairs(rawHeaders, "request.headers")
	if err != nil {
		return nil, err
	}
	req := &Request{headers: headers, backends: backends}
	if req.Path, err = required(r, "path"); err != nil {
		return nil, err
	}
	if req.Method, err = required(r, "method"); err != nil {
		return nil, err
	}
	if req.Tenant, err = required(o, "tenant"); err != nil {
		return nil, err
	}
	fields := []struct {
		key  string
		into *string
		dflt string
	}{{"raw_path", &req.RawPath, req.Path}, {"query", &req.QueryString, ""}, {"host", &req.Host, ""},
		{"client_ip", &req.ClientIP, ""}, {"request_id", &req.RequestID, "-"}}
	for _, f := range fields {
		s, present, err := optional(r, f.key)
		if err != nil {
			return nil, err
		}
		if !present {
			s = f.dflt
		}
		*f.into = s
	}
	text, hasText, err := optional(r, "body")
	if err != nil {
		return nil, err
	}
	b64, hasB64, err := optional(r, "body_base64")
	if err != nil {
		return nil, err
	}
	switch {
	case hasText: // body wins over body_base64, as in Java (the protocol never sends both)
		req.body, req.hasBody = []byte(text), true
	case hasB64:
		if req.body, err = decodeBase64(b64); err != nil {
			return nil, bad("request.body_base64: not base64: %s", err.Error())
		}
		req.hasBody = true
	}
	if req.params, err = parseParams(o); err != nil {
		return nil, err
	}
	req.Params = req.params.m
	return req, nil
}

// parseCompat is the original engine's request (POST /route/{tenant}): {method, path, host,
// headers (an object), body, backends}, its fields read leniently as the original engine did.
func parseCompat(tenant string, o object) (*Request, error) {
	var headers [][2]string
	if raw, present := o["headers"]; present && raw != nil {
		h, ok := asObject(raw)
		if !ok {
			return nil, bad("headers: an object of name to value")
		}
		for _, name := range sortedKeys(h) {
			value, ok := h[name].(string)
			if !ok {
				value = jsonText(h[name]) // as the original engine gave a number or an object
			}
			headers = append(headers, [2]string{name, value})
		}
	}
	method, present, err := loose(o, "method")
	if err != nil {
		return nil, err
	} else if !present {
		method = "GET"
	}
	path, present, err := loose(o, "path")
	if err != nil {
		return nil, err
	} else if !present {
		path = "/"
	}
	host, _, err := loose(o, "host")
	if err != nil {
		return nil, err
	}
	rawBackends, err := listOf(o, "backends")
	if err != nil {
		return nil, err
	}
	backends, err := parseBackends(rawBackends)
	if err != nil {
		return nil, err
	}
	body, hasBody, err := loose(o, "body")
	if err != nil {
		return nil, err
	}
	none := noParams() // the original format has no params
	return &Request{Method: method, Path: path, RawPath: path, Host: host, Tenant: tenant, RequestID: "-",
		Params: none.m, params: none, headers: headers, backends: backends, body: []byte(body), hasBody: hasBody}, nil
}

// responseHead is the backend's response head of a respond request.
type responseHead struct {
	status  int
	backend string
	headers [][2]string
}

// parseHead reads `response` of a respond request: {status, backend, headers}; as in Java,
// backend and headers may be left out, but not null.
func parseHead(o object) (responseHead, error) {
	var h responseHead
	r, ok := asObject(o["response"])
	if !ok {
		return h, bad("response: required, an object")
	}
	status, ok := wholeNumber(r["status"])
	if !ok || status < 100 || status > 599 {
		return h, bad("response.status: required, a status between 100 and 599")
	}
	h.status = int(status)
	if v, present := r["backend"]; present {
		if h.backend, ok = v.(string); !ok {
			return h, bad("response.backend: a string")
		}
	}
	if v, present := r["headers"]; present {
		list, ok := v.([]any)
		if !ok {
			return h, bad("response.headers: a list of [name, value]")
		}
		var err error
		if h.headers, err = headerPairs(list, "response.headers"); err != nil {
			return h, err
		}
	}
	return h, nil
}

// The answers, their fields in the order the Java engine writes them.
type decideAnswer struct {
	Version    int                `json:"version"`
	Decision   string             `json:"decision"`
	Target     string             `json:"target,omitempty"`
	Backends   []string           `json:"backends,omitempty"`
	Status     int                `json:"status,omitempty"`
	Body       *string            `json:"body,omitempty"`
	Headers    *map[string]string `json:"headers,omitempty"`
	Reason     *string            `json:"reason,omitempty"`
	Edits      *editsAnswer       `json:"edits,omitempty"`
	OnResponse bool               `json:"on_response,omitempty"`
}

type editsAnswer struct {
	Headers *headerEdits `json:"headers,omitempty"` // null removes
	Path    *string      `json:"path,omitempty"`
	Query   *string      `json:"query,omitempty"`
}

type errorAnswer struct {
	Version  int    `json:"version"`
	Decision string `json:"decision"`
	Error    string `json:"error"`
	Limit    bool   `json:"limit"`
}

type respondAnswer struct {
	Version int          `json:"version"`
	Status  int          `json:"status"`
	Headers *headerEdits `json:"headers,omitempty"`
}

var kindNames = map[decisionKind]string{kindContinue: "continue", kindRoute: "route", kindRespond: "respond", kindReject: "reject"}

func toAnswer(d decided, c *call, onResponse bool) decideAnswer {
	a := decideAnswer{Version: protocolVersion, Decision: kindNames[d.kind], OnResponse: onResponse}
	switch d.kind {
	case kindRoute:
		a.Target, a.Backends = d.route.target, d.route.backends
	case kindRespond:
		a.Status, a.Body, a.Headers = d.status, &d.body, &d.headers
	case kindReject:
		a.Status, a.Reason = d.status, &d.reason
	}
	if !c.headers.empty() || c.path != nil || c.query != nil {
		a.Edits = &editsAnswer{Path: c.path, Query: c.query}
		if !c.headers.empty() {
			a.Edits.Headers = &c.headers
		}
	}
	return a
}

func toError(err *ScriptError) errorAnswer {
	return errorAnswer{Version: protocolVersion, Decision: "error", Error: cutError(err.Error()), Limit: err.Limit}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
