package keystone_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"keystone.dev/engine/keystone"
)

// Script parameters (docs/engine-protocol.md, "Script parameters"): Request.Params and
// Response.Params, an empty map without params, a script error for a handler that changes them,
// never another call's or tenant's; 400 naming params for bad ones.

var paramsSent = map[string]any{"limit": 100, "header": "X-API-Key", "list": []any{"a", map[string]any{"b": []any{1, 2}}},
	"nested": map[string]any{"flag": true, "none": nil}, "ünï": "ç"}

func paramsEngine(t *testing.T) *fixture {
	return newFixture(t, keystone.Options{}, map[string]keystone.Script{"p": {
		OnRequest: func(req *keystone.Request) keystone.Decision {
			p := req.Params
			switch req.Header("X-Case") {
			case "write":
				p["limit"] = 5.0
			case "write-nested":
				p["list"].([]any)[1].(map[string]any)["b"] = nil
			case "write-list":
				p["list"].([]any)[0] = "z"
			case "delete":
				delete(p, "limit")
			case "types":
				list := p["list"].([]any)
				return keystone.Respond(200, fmt.Sprintf("%T %T %T %T %T", p["limit"], p["header"], list, list[1], p["nested"].(map[string]any)["flag"]), nil)
			case "copy": // what the README says to do instead: change a copy of your own
				mine := map[string]any{}
				for k, v := range p {
					mine[k] = v
				}
				mine["limit"] = 5.0
				return keystone.Respond(200, keystone.EncodeJSON(mine), nil)
			}
			if p == nil {
				return keystone.Respond(200, "nil", nil)
			}
			return keystone.Respond(200, keystone.EncodeJSON(p), nil)
		},
		OnResponse: func(res *keystone.Response) {
			if res.Header("X-Case") == "write" {
				res.Params["limit"] = 5.0
			}
			if res.Params == nil {
				res.SetHeader("X-Seen", "nil")
				return
			}
			res.SetHeader("X-Seen", keystone.EncodeJSON(res.Params))
		},
	}})
}

// paramsCall is the 200 answer of /v1/decide of script p with these params (nil: none) and X-Case.
func (f *fixture) paramsCall(tenant string, params any, kind string) map[string]any {
	f.t.Helper()
	extra := map[string]any{"tenant": tenant}
	if params != nil {
		extra["params"] = params
	}
	status, a := f.post("/v1/decide", decideBody("p", [][2]string{{"X-Case", kind}}, nil, extra))
	if status != 200 {
		f.t.Fatalf("decide: %d %v", status, a)
	}
	return a
}

func (f *fixture) paramsRespond(tenant string, params any, kind string) (int, map[string]any) {
	f.t.Helper()
	body := map[string]any{"tenant": tenant, "script": "p", "request": map[string]any{"method": "GET", "path": "/"},
		"response": map[string]any{"status": 200, "headers": [][]string{{"X-Case", kind}}}}
	if params != nil {
		body["params"] = params
	}
	return f.post("/v1/respond", body)
}

func TestParamsReachTheHandler(t *testing.T) {
	f := paramsEngine(t)
	want, _ := json.Marshal(paramsSent) // sorted keys, as EncodeJSON writes a map
	if a := f.paramsCall("t", paramsSent, "echo"); a["body"] != string(want) {
		t.Errorf("Request.Params: %v, want %s", a["body"], want)
	}
	if a := f.paramsCall("t", paramsSent, "types"); a["body"] != "float64 string []interface {} map[string]interface {} bool" {
		t.Errorf("types: %v", a["body"])
	}
	if _, a := f.paramsRespond("t", paramsSent, "echo"); a["headers"].(map[string]any)["X-Seen"] != string(want) {
		t.Errorf("Response.Params: %v", a)
	}
	if a := f.paramsCall("t", nil, "echo"); a["body"] != "{}" {
		t.Errorf("Request.Params without params: %v, want an empty map", a["body"])
	}
	if _, a := f.paramsRespond("t", nil, "echo"); a["headers"].(map[string]any)["X-Seen"] != "{}" {
		t.Errorf("Response.Params without params: %v", a)
	}
	if a := f.paramsCall("t", map[string]any{"limit": 100}, "copy"); a["body"] != `{"limit":5}` {
		t.Errorf("a copy of the handler's own may change: %v", a)
	}
}

func TestParamsAreReadOnly(t *testing.T) {
	f := paramsEngine(t)
	for _, kind := range []string{"write", "write-nested", "write-list", "delete"} {
		a := f.paramsCall("t", paramsSent, kind)
		if a["decision"] != "error" || a["error"] != "params_test.go: params are read-only: the handler changed them (copy them to change a copy)" || a["limit"] != false {
			t.Errorf("%s: %v", kind, a)
		}
	}
	if a := f.paramsCall("t", nil, "write"); a["decision"] != "error" { // the empty map of a call without params
		t.Errorf("write without params: %v", a)
	}
	if _, a := f.paramsRespond("t", paramsSent, "write"); a["decision"] != "error" || !strings.HasPrefix(a["error"].(string), "params_test.go: params are read-only") {
		t.Errorf("on_response's write: %v", a)
	}
}

func TestParamsNeverLeak(t *testing.T) {
	f := paramsEngine(t)
	for i := 0; i < 2; i++ {
		if a := f.paramsCall("a", map[string]any{"limit": 100}, "echo"); a["body"] != `{"limit":100}` {
			t.Errorf("with params: %v", a)
		}
		f.paramsCall("a", map[string]any{"limit": 100}, "write")
		if a := f.paramsCall("a", nil, "echo"); a["body"] != "{}" {
			t.Errorf("without params, after a call with them: %v", a)
		}
		f.paramsCall("a", nil, "write")
		if a := f.paramsCall("a", nil, "echo"); a["body"] != "{}" {
			t.Errorf("without params, after a write to an empty map: %v", a)
		}
	}
	var wg sync.WaitGroup
	bodies := make([]any, 60)
	for i := range bodies {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var params any
			if i%3 != 0 {
				params = map[string]any{"id": i}
			}
			bodies[i] = f.paramsCall(fmt.Sprintf("t%d", i%4), params, "echo")["body"]
		}(i)
	}
	wg.Wait()
	for i, b := range bodies {
		want := fmt.Sprintf(`{"id":%d}`, i)
		if i%3 == 0 {
			want = "{}"
		}
		if b != want {
			t.Errorf("call %d: %v, want %s", i, b, want)
		}
	}
}

func nestedParams(levels int) any {
	var v any = map[string]any{"d": 1}
	for i := 1; i < levels; i++ {
		v = map[string]any{"d": v}
	}
	return v
}

func TestBadParams(t *testing.T) {
	f := paramsEngine(t)
	around := len(`{"h":""}`)
	for _, c := range []struct {
		params any
		want   string // "" for accepted
	}{
		{"x", "params: a JSON object expected"}, {[]any{1}, "params: a JSON object expected"}, {json.RawMessage("null"), "params: a JSON object expected"},
		{5, "params: a JSON object expected"}, {true, "params: a JSON object expected"},
		{nestedParams(16), ""}, {nestedParams(17), "params: nested deeper than 16 levels"},
		{map[string]any{"a": json.RawMessage(strings.Repeat("[", 15) + strings.Repeat("]", 15))}, ""},
		{map[string]any{"a": json.RawMessage(strings.Repeat("[", 16) + strings.Repeat("]", 16))}, "params: nested deeper than 16 levels"},
		{json.RawMessage(`{"a":1e400}`), "params: a number out of range"},
		{json.RawMessage(`{"a":[1e300,1e-400]}`), ""},
		{map[string]any{"h": strings.Repeat("x", 65536-around)}, ""},
		{map[string]any{"h": strings.Repeat("x", 65536-around+1)}, "params: larger than 65536 bytes"},
		{map[string]any{"h": strings.Repeat("é", (65536-around)/2)}, ""},
		{map[string]any{"h": strings.Repeat("é", (65536-around)/2+1)}, "params: larger than 65536 bytes"},
		{map[string]any{"h": strings.Repeat("x", 8<<20-1000)}, "params: larger than 65536 bytes"},
	} {
		body := decideBody("p", nil, nil, map[string]any{"params": c.params})
		status, a := f.post("/v1/decide", body)
		if c.want == "" && status != 200 || c.want != "" && (status != 400 || a["error"] != c.want) {
			t.Errorf("decide, params %.80v: %d %v, want %q", c.params, status, a, c.want)
		}
		status, a = f.paramsRespond("t", c.params, "echo")
		if c.want == "" && status != 200 || c.want != "" && (status != 400 || a["error"] != c.want) {
			t.Errorf("respond, params %.80v: %d %v, want %q", c.params, status, a, c.want)
		}
	}
	if status, _ := f.post("/v1/decide", decideBody("nope", nil, nil, map[string]any{"params": "x"})); status != 404 {
		t.Errorf("an unknown script is 404 before its params are checked: %d", status)
	}
	status, a := f.post("/route/t?script=p", map[string]any{"method": "GET", "path": "/", "params": map[string]any{"limit": 1},
		"headers": map[string]any{"X-Case": "echo"}})
	if status != 200 || a["reject_reason"] != "{}" {
		t.Errorf("the original format has no params: %d %v", status, a)
	}
}
