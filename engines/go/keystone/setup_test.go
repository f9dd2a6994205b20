package keystone_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"keystone.dev/engine/keystone"
)

// What the tests share: an engine behind an httptest server, requests in the protocol's shape.

var backends = []map[string]any{
	{"name": "stable", "url": "http://10.0.0.5:8080", "healthy": true, "weight": 3, "labels": map[string]string{"version": "stable", "zone": "a"}},
	{"name": "stable-b", "url": "http://10.0.0.6:8080", "healthy": false, "weight": 1, "labels": map[string]string{"version": "stable", "zone": "b"}},
	{"name": "canary-42", "url": "http://10.0.0.9:8080", "healthy": true, "weight": 1, "labels": map[string]string{"version": "canary", "zone": "b"}},
}

// syncBuffer is a log the engine writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	t      *testing.T
	engine *keystone.Engine
	server *httptest.Server
	log    *syncBuffer
}

func newFixture(t *testing.T, opts keystone.Options, scripts map[string]keystone.Script) *fixture {
	t.Helper()
	log := &syncBuffer{}
	if opts.Log == nil {
		opts.Log = log
	}
	if opts.Deadline == 0 {
		// Not the engine's 50 ms: a wall-clock deadline a trivial call can miss on a starved
		// host (go test runs packages at once). Tests of the deadline give their own.
		opts.Deadline = 2 * time.Second
	}
	e := keystone.New(opts)
	for name, s := range scripts {
		e.Script(name, s)
	}
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	return &fixture{t: t, engine: e, server: srv, log: log}
}

// decideBody is a POST /v1/decide body for script with these request headers; extra fields of
// the request and of the body are merged in.
func decideBody(script string, headers [][2]string, request, extra map[string]any) map[string]any {
	pairs := [][]string{}
	for _, h := range headers {
		pairs = append(pairs, []string{h[0], h[1]})
	}
	r := map[string]any{"method": "GET", "path": "/orders", "headers": pairs}
	for k, v := range request {
		r[k] = v
	}
	b := map[string]any{"version": 1, "tenant": "shop", "script": script, "request": r, "backends": backends}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// post sends body (a string, []byte or a value made JSON) and returns the status and the JSON answer.
func (f *fixture) post(path string, body any) (int, map[string]any) {
	f.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		text, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		r = bytes.NewReader(text)
	}
	res, err := http.Post(f.server.URL+path, "application/json", r)
	if err != nil {
		f.t.Fatal(err)
	}
	return answerOf(f.t, res)
}

func (f *fixture) get(path string) (int, map[string]any) {
	f.t.Helper()
	res, err := http.Get(f.server.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	return answerOf(f.t, res)
}

func answerOf(t *testing.T, res *http.Response) (int, map[string]any) {
	t.Helper()
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var a map[string]any
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatalf("the answer is not JSON: %v", err)
	}
	return res.StatusCode, a
}

// decide runs script and returns its 200 answer.
func (f *fixture) decide(script string, headers ...[2]string) map[string]any {
	f.t.Helper()
	status, a := f.post("/v1/decide", decideBody(script, headers, nil, nil))
	if status != 200 {
		f.t.Fatalf("decide %s: %d %v", script, status, a)
	}
	return a
}

// jsonEqual compares an answer with the JSON text it should be.
func jsonEqual(t *testing.T, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	ws, _ := json.Marshal(w)
	if string(g) != string(ws) {
		t.Errorf("answer\n got %s\nwant %s", g, ws)
	}
}

// here is "file:line" of the line after the call: a handler's next line, which fails.
func here() string {
	_, file, line, _ := runtime.Caller(1)
	return file[strings.LastIndex(file, "/")+1:] + ":" + strconv.Itoa(line+1) + ": "
}
