package main

import "keystone.dev/engine/keystone"

// decide: every decision kind, picked by the X-Case header (engines/conformance/README.md).
func decide(req *keystone.Request) keystone.Decision {
	switch req.Header("X-Case") {
	case "name":
		return keystone.RouteTo(req.Header("X-Target"))
	case "labels":
		return keystone.RouteToLabels(map[string]string{"version": req.Header("X-Version")})
	case "two-labels":
		return keystone.RouteToLabels(map[string]string{"version": "canary", "zone": "b"})
	case "respond":
		return keystone.Respond(503, "down for maintenance", map[string]string{"Retry-After": "600", "Content-Type": "text/plain"})
	case "respond-plain":
		return keystone.Respond(204, "", nil)
	case "reject":
		return keystone.Reject(401, "missing or unknown API key")
	case "last-wins":
		_ = keystone.RouteTo("stable") // in Go the decision is the one returned: the last one made
		return keystone.Reject(403, "changed my mind")
	}
	return keystone.Continue() // anything else: no decision
}
