package main

import (
	"strconv"
	"strings"

	"keystone.dev/engine/keystone"
)

// misuse: wrong uses of the API, each a script error at the line of the call. X-Case picks one.
func misuse(req *keystone.Request) keystone.Decision {
	switch req.Header("X-Case") {
	case "unknown-backend":
		return keystone.RouteTo("no-such-backend")
	case "unknown-labels":
		return keystone.RouteToLabels(map[string]string{"version": "no-such-version"})
	case "respond-status-low":
		return keystone.Respond(99, "x", nil)
	case "respond-status-high":
		return keystone.Respond(600, "x", nil)
	case "reject-status":
		return keystone.Reject(399, "x")
	case "framing-header":
		req.SetHeader("Content-Length", "5")
	case "framing-header-lower":
		req.RemoveHeader("transfer-encoding")
	case "connection-header":
		req.SetHeader("Connection", "close")
	case "crlf-value":
		req.SetHeader("X-Injected", "a\r\nX-Evil: 1")
	case "nul-value":
		req.SetHeader("X-Injected", "a\x00b")
	case "bad-name":
		req.SetHeader("Bad Name", "x")
	case "bad-path":
		req.SetPath("no-slash")
	case "respond-crlf":
		return keystone.Respond(200, "x", map[string]string{"X-Injected": "a\r\nX-Evil: 1"})
	case "respond-framing":
		return keystone.Respond(200, "x", map[string]string{"Content-Length": "1"})
	case "path-space":
		req.SetPath("/a b")
	case "path-query":
		req.SetPath("/a?b=1")
	case "query-hash":
		req.SetQuery("a=1#frag")
	case "name-not-token":
		req.SetHeader("X-{bad}", "v")
	case "path-non-ascii":
		req.SetPath("/caf\u00e9")
	case "query-not-uri":
		req.SetQuery("a=<x>")
	case "path-too-long":
		req.SetPath("/" + strings.Repeat("a", 9000))
	case "value-too-long":
		req.SetHeader("X-Big", strings.Repeat("v", 9000))
	case "name-too-long":
		req.SetHeader("X-"+strings.Repeat("n", 300), "v")
	case "too-many-headers":
		for i := 1; i <= 101; i++ {
			req.SetHeader("X-H"+strconv.Itoa(i), "v")
		}
	case "header-bytes":
		for i := 1; i <= 9; i++ {
			req.SetHeader("X-B"+strconv.Itoa(i), strings.Repeat("v", 8000))
		}
	case "respond-too-many-headers":
		headers := map[string]string{}
		for i := 1; i <= 101; i++ {
			headers["X-H"+strconv.Itoa(i)] = "v"
		}
		return keystone.Respond(200, "x", headers)
	case "query-too-long":
		req.SetQuery("a=" + strings.Repeat("q", 9000))
	case "path-bad-percent":
		req.SetPath("/a%zz")
	case "query-bad-percent":
		req.SetQuery("a=%4")
	case "path-hash":
		req.SetPath("/a#frag")
	}
	return keystone.Continue()
}
