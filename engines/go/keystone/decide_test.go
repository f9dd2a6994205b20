package keystone_test

import (
	"strings"
	"sync/atomic"
	"testing"

	"keystone.dev/engine/keystone"
)

func TestDecisions(t *testing.T) {
	f := newFixture(t, keystone.Options{}, map[string]keystone.Script{"d": {OnRequest: func(req *keystone.Request) keystone.Decision {
		switch req.Header("x-case") {
		case "name":
			return keystone.RouteTo("stable-b")
		case "labels":
			return keystone.RouteToLabels(map[string]string{"zone": "b", "version": "canary"})
		case "respond":
			return keystone.Respond(503, "down", map[string]string{"Retry-After": "600"})
		case "reject":
			return keystone.Reject(401, "no key")
		}
		return keystone.Continue()
	}}})
	jsonEqual(t, f.decide("d"), `{"version":1,"decision":"continue"}`)
	jsonEqual(t, f.decide("d", [2]string{"X-Case", "name"}), `{"version":1,"decision":"route","target":"stable-b","backends":["stable-b"]}`)
	jsonEqual(t, f.decide("d", [2]string{"X-Case", "labels"}), `{"version":1,"decision":"route","target":"{version=canary, zone=b}","backends":["canary-42"]}`)
	jsonEqual(t, f.decide("d", [2]string{"X-Case", "respond"}), `{"version":1,"decision":"respond","status":503,"body":"down","headers":{"Retry-After":"600"}}`)
	jsonEqual(t, f.decide("d", [2]string{"X-Case", "reject"}), `{"version":1,"decision":"reject","status":401,"reason":"no key"}`)
}

func TestEdits(t *testing.T) {
	f := newFixture(t, keystone.Options{}, map[string]keystone.Script{"e": {OnRequest: func(req *keystone.Request) keystone.Decision {
		req.SetHeader("X-Client", "acme")
		req.RemoveHeader("X-API-Key")
		req.SetHeader("X-Client", "acme-2") // a name set again keeps its place
		req.SetPath("/v2" + req.Path)
		req.SetQuery("?page=2")
		return keystone.RouteTo("stable")
	}}})
	status, a := f.post("/v1/decide", decideBody("e", nil, nil, nil))
	if status != 200 {
		t.Fatal(status, a)
	}
	jsonEqual(t, a, `{"version":1,"decision":"route","target":"stable","backends":["stable"],
		"edits":{"headers":{"X-Client":"acme-2","X-API-Key":null},"path":"/v2/orders","query":"page=2"}}`)
}

// A misuse of the API is a script error naming the handler's line, never a decision.
func TestMisuseNamesTheLine(t *testing.T) {
	var want atomic.Value
	misuse := func(req *keystone.Request) keystone.Decision {
		switch req.Header("X-Case") {
		case "framing":
			want.Store(here() + "header Content-Length is managed by the gateway")
			req.SetHeader("Content-Length", "5")
		case "remove":
			want.Store(here() + "header transfer-encoding is managed")
			req.RemoveHeader("transfer-encoding")
		case "path":
			want.Store(here() + "set_path: the path must not contain '.' or '..' segments")
			req.SetPath("/%2e%2e/x")
		case "query":
			want.Store(here() + "set_query: the query must hold only the characters of a URI")
			req.SetQuery("a=1#x")
		case "unknown":
			want.Store(here() + "route_to: tenant shop has no backend named 'nope'")
			return keystone.RouteTo("nope")
		case "labels":
			want.Store(here() + "route_to: no backend of tenant shop has the labels {version=nope}")
			return keystone.RouteToLabels(map[string]string{"version": "nope"})
		case "respond":
			want.Store(here() + "respond: status must be between 200 and 599, got 101")
			return keystone.Respond(101, "", nil)
		case "reject":
			want.Store(here() + "reject: status must be between 400 and 599, got 399")
			return keystone.Reject(399, "x")
		case "kv":
			want.Store(here() + "kv keys are 1 to 256 characters")
			req.KV().Set(strings.Repeat("k", 257), "v", 0)
		case "many":
			for i := 0; i < 60; i++ {
				req.SetHeader("X-H"+strings.Repeat("h", i), "v")
			}
			headers := map[string]string{}
			for i := 0; i < 41; i++ {
				headers["X-R"+strings.Repeat("r", i)] = "v"
			}
			want.Store(here() + "a script may set at most 100 headers") // together with the request's edits
			return keystone.Respond(200, "x", headers)
		case "random":
			want.Store(here() + "random: interval is empty")
			keystone.RandomRange(3, 1)
		case "json":
			want.Store(here() + "json.decode: ")
			keystone.DecodeJSON("{", &struct{}{})
		}
		return keystone.Continue()
	}
	f := newFixture(t, keystone.Options{}, map[string]keystone.Script{"m": {OnRequest: misuse}})
	for _, c := range []string{"framing", "remove", "path", "query", "unknown", "labels", "respond", "reject", "kv", "many", "random", "json"} {
		a := f.decide("m", [2]string{"X-Case", c})
		msg, _ := a["error"].(string)
		if w := want.Load().(string); a["decision"] != "error" || a["limit"] != false || !strings.HasPrefix(msg, w) {
			t.Errorf("%s: %v, want an error starting %q", c, a, w)
		}
	}
}

// A panic is the call's script error at the line that panicked, whatever it panicked with.
func TestPanics(t *testing.T) {
	var want atomic.Value
	f := newFixture(t, keystone.Options{}, map[string]keystone.Script{"p": {OnRequest: func(req *keystone.Request) keystone.Decision {
		switch req.Header("X-Case") {
		case "string":
			want.Store(here() + "boom")
			panic("boom")
		case "nil":
			var m *keystone.Request
			want.Store(here() + "runtime error: invalid memory address or nil pointer dereference")
			return keystone.RouteTo(m.Path)
		case "std":
			n := -1
			want.Store(here() + "strings: negative Repeat count") // the line that called the library
			_ = strings.Repeat("x", n)
		}
		return keystone.Continue()
	}}})
	for _, c := range []string{"string", "nil", "std"} {
		a := f.decide("p", [2]string{"X-Case", c})
		if msg, _ := a["error"].(string); msg != want.Load() || a["limit"] != false {
			t.Errorf("%s: %v, want %q", c, a, want.Load())
		}
	}
	jsonEqual(t, f.decide("p"), `{"version":1,"decision":"continue"}`) // and the engine goes on
}

// The original endpoint with an OnRouteRequest script and with a new-API script.
func TestLegacy(t *testing.T) {
	f := newFixture(t, keystone.Options{}, map[string]keystone.Script{
		"shop": {OnRouteRequest: func(req *keystone.LegacyRequest, b []keystone.Backend) *keystone.LegacyAnswer {
			if req.Header("x-case") == "reject" {
				return &keystone.LegacyAnswer{Reject: true}
			}
			return &keystone.LegacyAnswer{SelectedBackend: b[1].Name, ModifiedHeaders: map[string]string{"X-Host": req.Host}, ModifiedPath: "/x" + req.Path}
		}},
		"new": {OnRequest: func(req *keystone.Request) keystone.Decision {
			req.RemoveHeader("X-Gone")
			return keystone.RouteToLabels(map[string]string{"version": "stable"})
		}},
	})
	body := map[string]any{"method": "POST", "path": "/p", "host": "h", "headers": map[string]string{}, "backends": []map[string]any{
		{"name": "a", "url": "http://10.0.0.1", "health": false, "labels": map[string]string{"version": "stable"}},
		{"name": "b", "url": "http://10.0.0.2", "health": "/healthz", "labels": map[string]string{"version": "stable"}},
	}}
	_, a := f.post("/route/shop", body)
	jsonEqual(t, a, `{"selected_backend":"b","modified_headers":{"X-Host":"h"},"modified_path":"/x/p"}`)
	body["headers"] = map[string]string{"X-Case": "reject"}
	_, a = f.post("/route/shop", body)
	jsonEqual(t, a, `{"reject":true,"reject_reason":"rejected by script"}`)
	_, a = f.post("/route/anyone?script=new", body)
	jsonEqual(t, a, `{"selected_backend":"b","modified_headers":{}}`) // the first healthy; removals dropped
	if status, _ := f.post("/route/nobody", body); status != 404 {
		t.Errorf("unknown script: %d", status)
	}
}
