package main

import "keystone.dev/engine/keystone"

// canary sends X-Deploy-ID: N to the backend canary-N when the tenant has one (healthy or not:
// a canary that is down answers 503 rather than hiding behind stable), everyone else to the
// backends labelled version=stable, of which the gateway picks a healthy one.
func canary(req *keystone.Request) keystone.Decision {
	if id := req.Header("X-Deploy-ID"); id != "" {
		if _, ok := req.Backend("canary-" + id); ok {
			return keystone.RouteTo("canary-" + id)
		}
	}
	return keystone.RouteToLabels(map[string]string{"version": "stable"})
}
