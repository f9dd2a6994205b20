package main

import (
	"strconv"

	"keystone.dev/engine/keystone"
)

// params: script parameters (docs/engine-protocol.md, "Script parameters"), as
// scripts/js/params.js. X-Case "default" answers params.limit or 10; "echo" answers what the
// handler saw (seenParams) and sets X-Limit to params.limit or 10. Go has no read-only maps: the
// writes of "write", "write-nested" and "write-list" (and on_response's "write") change the call's
// own copy, and the SDK fails the call once the handler returns, naming params.go without a line.
func paramsRequest(req *keystone.Request) keystone.Decision {
	p := req.Params
	switch req.Header("X-Case") {
	case "write":
		p["limit"] = 5.0
	case "write-nested":
		p["nested"].(map[string]any)["flag"] = false
	case "write-list":
		p["list"].([]any)[0] = "z"
	case "default":
		return keystone.Respond(200, limitOr10(p), nil)
	}
	req.SetHeader("X-Limit", limitOr10(p))
	return keystone.Respond(200, keystone.EncodeJSON(seenParams(p)), nil)
}

func paramsResponse(res *keystone.Response) {
	p := res.Params
	if res.Header("X-Case") == "write" {
		p["limit"] = 5.0
	}
	res.SetHeader("X-Seen", keystone.EncodeJSON(seenParams(p)))
}

// limitOr10 is params.limit or 10 (JavaScript's `p.limit || 10`), as text.
func limitOr10(p map[string]any) string {
	switch v := p["limit"].(type) {
	case float64:
		if v != 0 {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	case string:
		if v != "" {
			return v
		}
	}
	return "10"
}

// seenParams is what the handler sees of its params: that they are a map (not nil), how many
// keys, and the values the suite sends (what it did not send is left out).
func seenParams(p map[string]any) map[string]any {
	out := map[string]any{"kind": "object", "count": len(p)}
	if p == nil {
		out["kind"] = "nil"
	}
	for key, name := range map[string]string{"limit": "limit", "header": "header", "id": "id", "unicode": "ünï"} {
		if v, ok := p[name]; ok {
			out[key] = v
		}
	}
	if list, ok := p["list"].([]any); ok {
		out["list_length"] = len(list)
		if len(list) > 1 {
			out["second"] = list[1]
		}
	}
	if nested, ok := p["nested"].(map[string]any); ok {
		out["flag"] = nested["flag"]
	}
	return out
}
