package main

import "keystone.dev/engine/keystone"

// edits: request edits, which apply whatever the decision. X-Case picks the decision.
func edits(req *keystone.Request) keystone.Decision {
	kind := req.Header("X-Case")
	if kind == "clear-query" {
		req.SetQuery("")
		return keystone.Continue()
	}
	req.SetHeader("X-Client", "acme")
	req.RemoveHeader("X-API-Key")
	req.SetPath("/v2" + req.Path)
	req.SetQuery("page=2")
	switch kind {
	case "respond":
		return keystone.Respond(200, "ok", nil)
	case "route":
		return keystone.RouteTo("stable")
	}
	return keystone.Continue()
}
