package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// The suite checks the lines of some failures (engines/conformance/README.md): this test fails
// first when an edit moves one of them.
func TestLinesTheSuiteChecks(t *testing.T) {
	srv := httptest.NewServer(newEngine().Handler())
	defer srv.Close()
	call := func(path, script, kind string, extra map[string]any) map[string]any {
		body := map[string]any{"tenant": "t", "script": script,
			"request": map[string]any{"method": "GET", "path": "/", "headers": [][]string{{"X-Case", kind}}}}
		for k, v := range extra {
			body[k] = v
		}
		text, _ := json.Marshal(body)
		res, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var a map[string]any
		json.NewDecoder(res.Body).Decode(&a) //nolint:errcheck // checked below
		return a
	}
	respond := func(kind string, status int, to string) map[string]any {
		return call("/v1/respond", "response", "", map[string]any{"response": map[string]any{"status": status,
			"headers": [][]string{{"X-Case", kind}, {"X-To", to}}}})
	}
	for _, c := range []struct {
		answer map[string]any
		want   string
	}{
		{call("/v1/decide", "runtime-error", "explicit", nil), `^runtime-error\.go:6: boom$`},
		{call("/v1/decide", "runtime-error", "nil-index", nil), `^runtime-error\.go:9: `},
		{call("/v1/decide", "response", "fail", nil), `^response\.go:5: decide failed$`},
		{call("/v1/decide", "logs", "then-fail", nil), `^logs\.go:11: `},
		{respond("set-status", 200, "204"), `^response\.go:17: set_status`},
		{respond("framing", 200, ""), `^response\.go:21: header Content-Length`},
		{respond("framing-remove", 200, ""), `^response\.go:23: `},
		{respond("crlf", 200, ""), `^response\.go:25: `},
		{respond("bad-name", 200, ""), `^response\.go:27: `},
		{respond("boom", 200, ""), `^response\.go:29: boom in on_response$`},
		{respond("too-many", 200, ""), `^response\.go:43: a script may set at most 100 headers`},
		// A write to params is found after the handler returned: the file, no line (the suite accepts both).
		{call("/v1/decide", "params", "write", map[string]any{"params": map[string]any{"limit": 1}}), `^params\.go: params are read-only`},
		{call("/v1/respond", "params", "", map[string]any{"params": map[string]any{"limit": 1},
			"response": map[string]any{"status": 200, "headers": [][]string{{"X-Case", "write"}}}}), `^params\.go: params are read-only`},
	} {
		if msg, _ := c.answer["error"].(string); !regexp.MustCompile(c.want).MatchString(msg) {
			t.Errorf("%v: want an error matching %s", c.answer, c.want)
		}
	}
}
