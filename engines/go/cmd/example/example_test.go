package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"keystone.dev/engine/keystone"
)

// The example's scripts through the engine protocol, as the gateway calls them.

var backends = []map[string]any{
	{"name": "stable-1", "url": "http://10.0.0.5:8080", "healthy": true, "labels": map[string]string{"version": "stable"}},
	{"name": "stable-2", "url": "http://10.0.0.6:8080", "healthy": false, "labels": map[string]string{"version": "stable"}},
	{"name": "canary-42", "url": "http://10.0.0.9:8080", "healthy": true, "labels": map[string]string{"version": "canary"}},
}

func engine(t *testing.T, keysFile string) (*keystone.Engine, *keyring, *httptest.Server) {
	dir := t.TempDir()
	if keysFile != "" {
		if err := os.WriteFile(filepath.Join(dir, "api-keys.json"), []byte(keysFile), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e := keystone.New(keystone.Options{Log: io.Discard})
	keys := &keyring{}
	e.Script("canary", keystone.Script{OnRequest: canary})
	e.Script("api-gate", keystone.Script{OnRequest: keys.gate})
	e.OnReload(func() error { return keys.load(dir) })
	if err := keys.load(dir); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	return e, keys, srv
}

func decide(t *testing.T, srv *httptest.Server, script, tenant string, headers ...[]string) map[string]any {
	t.Helper()
	if headers == nil {
		headers = [][]string{}
	}
	body, _ := json.Marshal(map[string]any{"tenant": tenant, "script": script, "backends": backends,
		"request": map[string]any{"method": "GET", "path": "/orders", "headers": headers}})
	res, err := http.Post(srv.URL+"/v1/decide", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a map[string]any
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %v", res.StatusCode, err)
	}
	return a
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCanary(t *testing.T) {
	_, _, srv := engine(t, "")
	for _, c := range []struct {
		id, want string
	}{
		{"42", `["canary-42"]`},
		{"7", `["stable-1","stable-2"]`}, // no canary-7: stable
		{"", `["stable-1","stable-2"]`},
	} {
		a := decide(t, srv, "canary", "shop", []string{"X-Deploy-ID", c.id})
		if a["decision"] != "route" || show(a["backends"]) != c.want {
			t.Errorf("X-Deploy-ID %q: %v, want backends %s", c.id, a, c.want)
		}
	}
}

func TestAPIGate(t *testing.T) {
	_, _, srv := engine(t, `{"k-acme": "acme", "k-globex": "globex"}`)
	if a := decide(t, srv, "api-gate", "api"); a["decision"] != "reject" || a["status"] != 401.0 {
		t.Errorf("no key: %v", a)
	}
	if a := decide(t, srv, "api-gate", "api", []string{"X-API-Key", "k-nobody"}); a["status"] != 401.0 {
		t.Errorf("unknown key: %v", a)
	}
	a := decide(t, srv, "api-gate", "api", []string{"X-API-Key", "k-acme"})
	if a["decision"] != "continue" || show(a["edits"]) != `{"headers":{"X-API-Key":null,"X-Client":"acme"}}` {
		t.Errorf("known key: %v", a)
	}
	for i := 2; i <= perMinute; i++ {
		decide(t, srv, "api-gate", "api", []string{"X-API-Key", "k-acme"})
	}
	a = decide(t, srv, "api-gate", "api", []string{"X-API-Key", "k-acme"})
	if a["decision"] != "respond" || a["status"] != 429.0 || show(a["headers"]) != `{"Content-Type":"text/plain","Retry-After":"60"}` {
		t.Errorf("request %d of the minute: %v", perMinute+1, a)
	}
	// Another client, and the same client of another tenant, have windows of their own.
	if a := decide(t, srv, "api-gate", "api", []string{"X-API-Key", "k-globex"}); a["decision"] != "continue" {
		t.Errorf("another client: %v", a)
	}
	if a := decide(t, srv, "api-gate", "other-tenant", []string{"X-API-Key", "k-acme"}); a["decision"] != "continue" {
		t.Errorf("another tenant: %v", a)
	}
}

// A reload reads the keys again; a file that does not parse is refused and the old keys stay.
func TestReloadKeys(t *testing.T) {
	e, keys, srv := engine(t, `{"k-old": "old"}`)
	dir := t.TempDir()
	e.OnReload(func() error { return keys.load(dir) })
	os.WriteFile(filepath.Join(dir, "api-keys.json"), []byte(`{"k-new": "new"}`), 0o600)
	if _, err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if a := decide(t, srv, "api-gate", "t", []string{"X-API-Key", "k-new"}); a["decision"] != "continue" {
		t.Errorf("the new key: %v", a)
	}
	os.WriteFile(filepath.Join(dir, "api-keys.json"), []byte(`{"k-broken": `), 0o600)
	res, err := http.Post(srv.URL+"/reload", "", nil)
	if err != nil || res.StatusCode != 422 {
		t.Fatalf("a broken keys file: %v %v", res, err)
	}
	if a := decide(t, srv, "api-gate", "t", []string{"X-API-Key", "k-new"}); a["decision"] != "continue" {
		t.Errorf("the keys after a refused reload: %v", a)
	}
}
