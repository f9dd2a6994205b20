package main

import "keystone.dev/engine/keystone"

func decideFailed() { panic("decide failed") } // responseRequest with X-Case: fail; the suite checks line 5

// response: the response phase. responseResponse picks what to do from the response's X-Case
// header; the suite checks the lines of these calls: 17, 21 to 29 and 43 (and 5 above).
// responseRequest, below, counts each call in the tenant's kv, which the "echo" case reads.
//
// The "loop" case is endless but watches its context, as Go code must: Go cannot stop a
// goroutine from outside (see limits.go).
func responseResponse(res *keystone.Response) {
	kind := res.Header("x-case") // sent as X-Case
	switch kind {
	case "set-status":
		res.SetStatus(atoi(res.Header("X-To")))
	case "header-only":
		res.SetHeader("X-Note", "kept")
	case "framing":
		res.SetHeader("Content-Length", "1")
	case "framing-remove":
		res.RemoveHeader("transfer-encoding")
	case "crlf":
		res.SetHeader("X-Injected", "a\r\nX-Evil: 1")
	case "bad-name":
		res.SetHeader("Bad Name", "x")
	case "boom":
		panic("boom in on_response")
	case "loop":
		for res.Context().Err() == nil {
		}
	case "teapot":
		res.SetStatus(418)
		res.SetHeader("X-Served-By", res.Backend)
		res.RemoveHeader("X-Internal")
	case "echo":
		res.SetHeader("X-Seen", seen(res))
	case "none":
		// nothing changed: the status as it was, no header edits
	case "too-many":
		for i := 1; i <= 101; i++ {
			res.SetHeader("X-R"+itoa(i), "v")
		}
	}
}

func responseRequest(req *keystone.Request) keystone.Decision {
	if req.Header("X-Case") == "fail" {
		decideFailed()
	}
	req.KV().Incr("decided", 1, 0)
	return keystone.Continue()
}

// seen is what the "echo" case saw of the response, as JSON.
func seen(res *keystone.Response) string {
	out := map[string]any{
		"status": res.Status, "backend": res.Backend, "method": res.Method, "path": res.Path,
		"tenant": res.Tenant, "request_id": res.RequestID,
		"content_type": res.Header("content-type"), // sent as Content-Type
		"first_multi":  res.Header("X-MULTI"),      // sent twice
		"decided":      res.KV().Get("decided"),
	}
	if v, ok := res.LookupHeader("X-Not-There"); ok {
		out["missing"] = v
	}
	return keystone.EncodeJSON(out)
}
