package keystone_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"keystone.dev/engine/keystone"
)

func plain(req *keystone.Request) keystone.Decision { return keystone.Continue() }

// Bad exchanges are 400 {"error"} naming the field, with the Java engine's messages.
func TestValidation(t *testing.T) {
	f := newFixture(t, keystone.Options{}, map[string]keystone.Script{"d": {OnRequest: plain}})
	withRequest := func(k string, v any) map[string]any { return decideBody("d", nil, map[string]any{k: v}, nil) }
	withBackend := func(k string, v any) map[string]any {
		b := map[string]any{"name": "stable", "url": "http://10.0.0.5:8080", "healthy": true, "weight": 1}
		b[k] = v
		return decideBody("d", nil, nil, map[string]any{"backends": []any{b}})
	}
	without := func(k string) map[string]any {
		b := decideBody("d", nil, nil, nil)
		delete(b, k)
		return b
	}
	for _, c := range []struct {
		body any
		want string
	}{
		{"not json", "the body is not a JSON object"},
		{"[1, 2]", "the body is not a JSON object"},
		{"", "the body is not a JSON object"},
		{`{"script": "d"} x`, "the body is not a JSON object"},
		{without("script"), "script: required, the name of a script in the engine's directory"},
		{without("tenant"), "tenant: required, a non-empty string"},
		{without("request"), "request: required, an object"},
		{withRequest("path", nil), "path: required, a non-empty string"},
		{withRequest("method", 5), "method: required, a non-empty string"},
		{decideBody("d", nil, nil, map[string]any{"deadline_ms": 0}), "deadline_ms: a whole number of milliseconds, 1 to 3600000"},
		{decideBody("d", nil, nil, map[string]any{"deadline_ms": 0.5}), "deadline_ms"},
		{decideBody("d", nil, nil, map[string]any{"deadline_ms": "20"}), "deadline_ms"},
		{decideBody("d", nil, nil, map[string]any{"deadline_ms": 3600001}), "deadline_ms"},
		{withRequest("headers", [][]any{{"X-A"}}), "request.headers: each header is [name, value], two strings"},
		{withRequest("headers", [][]any{{"X-A", nil}}), "request.headers"},
		{withRequest("headers", [][]any{{"X-A", 5}}), "request.headers"},
		{withRequest("headers", map[string]string{}), "headers: a list"},
		{withRequest("host", 7), "host: a string"},
		{withRequest("raw_path", true), "raw_path: a string"},
		{withRequest("body", []string{"x"}), "body: a string"},
		{withRequest("body_base64", "QUJD\n"), "request.body_base64: not base64: Illegal base64 character a"},
		{decideBody("d", nil, nil, map[string]any{"backends": "stable"}), "backends: a list"},
		{withBackend("weight", 0), "backends: weight: a whole number of at least 1"},
		{withBackend("weight", 1.5), "backends: weight"},
		{withBackend("weight", nil), "backends: weight"},
		{withBackend("healthy", "yes"), "backends: healthy: true or false"},
		{withBackend("labels", []string{"x"}), "backends: labels: an object of strings"},
		{withBackend("labels", map[string]any{"version": 1}), "backends: labels.version: a string"},
		{withBackend("url", "http://bad host:80"), "backends: stable: Illegal character at index 10: http://bad host:80"},
		{withBackend("name", ""), "name: required, a non-empty string"},
	} {
		status, a := f.post("/v1/decide", c.body)
		if msg, _ := a["error"].(string); status != 400 || !strings.HasPrefix(msg, c.want) {
			b, _ := json.Marshal(c.body)
			t.Errorf("%s: %d %v, want 400 %q", b, status, a, c.want)
		}
	}
	// null optional fields are absent; a valid deadline_ms is kept
	nulls := map[string]any{"raw_path": nil, "query": nil, "host": nil, "client_ip": nil, "request_id": nil, "body": nil, "body_base64": nil}
	if status, a := f.post("/v1/decide", decideBody("d", nil, nulls, map[string]any{"deadline_ms": 3600000})); status != 200 || a["decision"] != "continue" {
		t.Errorf("null optional fields: %d %v", status, a)
	}
	if status, a := f.post("/v1/decide", decideBody("nope", nil, nil, nil)); status != 404 || a["error"] != "no script 'nope' in this engine" {
		t.Errorf("unknown script: %d %v", status, a)
	}
	if status, a := f.get("/v1/decide"); status != 404 || a["error"] != "no such endpoint: GET /v1/decide" {
		t.Errorf("GET /v1/decide: %d %v", status, a)
	}
}

// What the handler sees of the request: fields, headers, query, backends, body.
func TestRequestFields(t *testing.T) {
	var seen map[string]any
	f := newFixture(t, keystone.Options{}, map[string]keystone.Script{"echo": {OnRequest: func(req *keystone.Request) keystone.Decision {
		b, _ := req.Backend("stable")
		multi, _ := req.LookupHeader("x-MULTI")
		_, missing := req.LookupHeader("X-None")
		seen = map[string]any{"method": req.Method, "path": req.Path, "raw": req.RawPath, "q": req.Query(), "qs": req.QueryString,
			"host": req.Host, "ip": req.ClientIP, "id": req.RequestID, "tenant": req.Tenant, "first": multi,
			"all": req.HeaderValues("X-Multi"), "none": req.HeaderValues("X-None"), "missing": missing,
			"weight": b.Weight, "labels": b.Labels, "n": len(req.Backends()), "body": req.Body(), "hasBody": req.HasBody()}
		return keystone.Continue()
	}}})
	request := map[string]any{"method": "POST", "raw_path": "/shop/orders", "query": "page=2&b=x%20y+z&page=3&flag&caf%C3%A9=cr%C3%A8me&bad=%zz",
		"host": "shop.example.com", "client_ip": "203.0.113.7", "request_id": "r-1", "body_base64": "AP8"}
	f.post("/v1/decide", decideBody("echo", [][2]string{{"X-Multi", "one"}, {"x-multi", "two"}}, request, nil))
	got, _ := json.Marshal(seen)
	want := `{"all":["one","two"],"body":"\u0000\ufffd","first":"one","hasBody":true,"host":"shop.example.com","id":"r-1",` +
		`"ip":"203.0.113.7","labels":{"version":"stable","zone":"a"},"method":"POST","missing":false,"n":3,"none":[],"path":"/orders",` +
		`"q":{"b":"x y z","bad":"%zz","café":"crème","flag":"","page":"2"},"qs":"page=2\u0026b=x%20y+z\u0026page=3\u0026flag\u0026caf%C3%A9=cr%C3%A8me\u0026bad=%zz",` +
		`"raw":"/shop/orders","tenant":"shop","weight":3}`
	if string(got) != want {
		t.Errorf("seen\n got %s\nwant %s", got, want)
	}
	f.post("/v1/decide", decideBody("echo", nil, map[string]any{"path": "/bare"}, nil))
	if seen["raw"] != "/bare" || seen["qs"] != "" || seen["host"] != "" || seen["id"] != "-" || seen["hasBody"] != false {
		t.Errorf("defaults: %v", seen)
	}
}

// 413 above 8 MiB, with Content-Length and chunked; exactly 8 MiB is read.
func TestBodyLimit(t *testing.T) {
	// A generous deadline: reading 8 MiB is part of it, and slow under the race detector.
	f := newFixture(t, keystone.Options{Deadline: 10 * time.Second}, map[string]keystone.Script{"d": {OnRequest: plain}})
	text, _ := json.Marshal(decideBody("d", nil, nil, nil))
	padded := func(size int) []byte {
		return append(append([]byte{}, text...), bytes.Repeat([]byte(" "), size-len(text))...)
	}
	if status, a := f.post("/v1/decide", padded(8<<20)); status != 200 || a["decision"] != "continue" {
		t.Errorf("8 MiB: %d %v", status, a)
	}
	if status, a := f.post("/v1/decide", padded(8<<20+1)); status != 413 || a["error"] != "request body above 8388608 bytes" {
		t.Errorf("8 MiB + 1: %d %v", status, a)
	}
	chunked := io.MultiReader(bytes.NewReader(padded(8<<20)), strings.NewReader(" ")) // no length known: sent chunked
	if status, _ := f.post("/v1/decide", chunked); status != 413 {
		t.Errorf("8 MiB + 1 chunked: %d", status)
	}
}

// The response phase: edits, the rules of SetStatus, a script without OnResponse.
func TestRespond(t *testing.T) {
	f := newFixture(t, keystone.Options{}, map[string]keystone.Script{
		"r": {OnRequest: plain, OnResponse: func(res *keystone.Response) {
			if res.Header("x-case") == "bad" {
				res.SetStatus(204)
				return
			}
			res.SetStatus(418)
			res.SetHeader("X-Served-By", res.Backend)
			res.RemoveHeader("X-Internal")
		}},
		"plain": {OnRequest: plain},
	})
	respond := func(script string, status int, headers [][]string) (int, map[string]any) {
		return f.post("/v1/respond", map[string]any{"tenant": "shop", "script": script, "request": map[string]any{"method": "GET", "path": "/"},
			"response": map[string]any{"status": status, "backend": "canary-42", "headers": headers}})
	}
	if a := f.decide("r"); a["on_response"] != true {
		t.Errorf("decide of a script with OnResponse: %v", a)
	}
	if a := f.decide("plain"); a["on_response"] != nil {
		t.Errorf("decide of a script without OnResponse: %v", a)
	}
	_, a := respond("r", 200, [][]string{})
	jsonEqual(t, a, `{"version":1,"status":418,"headers":{"X-Served-By":"canary-42","X-Internal":null}}`)
	_, a = respond("r", 200, [][]string{{"X-Case", "bad"}})
	if msg, _ := a["error"].(string); a["decision"] != "error" || !strings.Contains(msg, "set_status: cannot change 200 to 204") {
		t.Errorf("SetStatus(204): %v", a)
	}
	_, a = respond("plain", 204, [][]string{})
	jsonEqual(t, a, `{"version":1,"status":204}`)
	for body, field := range map[string]string{
		`{"tenant":"shop","script":"r","request":{"method":"GET","path":"/"}}`:                                             "response: required",
		`{"tenant":"shop","script":"r","request":{"method":"GET","path":"/"},"response":{"status":"200"}}`:                 "response.status: required",
		`{"tenant":"shop","script":"r","request":{"method":"GET","path":"/"},"response":{"status":200.5}}`:                 "response.status",
		`{"tenant":"shop","script":"r","request":{"method":"GET","path":"/"},"response":{"status":200,"backend":5}}`:       "response.backend: a string",
		`{"tenant":"shop","script":"r","request":{"method":"GET","path":"/"},"response":{"status":200,"headers":[["a"]]}}`: "response.headers: each header",
	} {
		if status, a := f.post("/v1/respond", body); status != 400 || !strings.HasPrefix(a["error"].(string), field) {
			t.Errorf("%s: %d %v", body, status, a)
		}
	}
	if res, err := http.Get(f.server.URL + "/v1/respond"); err != nil || res.StatusCode != 404 {
		t.Errorf("GET /v1/respond: %v %v", res, err)
	}
}
