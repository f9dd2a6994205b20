package main

import "keystone.dev/engine/keystone"

// echo answers with what the handler saw of the request, as JSON; what the request did not have
// is left out (JavaScript's undefined).
func echo(req *keystone.Request) keystone.Decision {
	backends := map[string]keystone.Backend{}
	for _, b := range req.Backends() {
		backends[b.Name] = b
	}
	seen := map[string]any{
		"method":       req.Method,
		"path":         req.Path,
		"raw_path":     req.RawPath,
		"query":        req.Query(),
		"query_string": req.QueryString,
		"tenant":       req.Tenant,
		"request_id":   req.RequestID,
		"all_multi":    req.HeaderValues("x-MULTI"),
		"none":         req.HeaderValues("X-None"),
		"backends":     backends,
	}
	optional := func(key, value string, present bool) {
		if present {
			seen[key] = value
		}
	}
	optional("host", req.Host, req.Host != "")
	optional("client_ip", req.ClientIP, req.ClientIP != "")
	for key, name := range map[string]string{
		"deploy_id":   "x-deploy-id", // sent as X-Deploy-ID
		"accept":      "ACCEPT",      // sent as Accept
		"first_multi": "X-Multi",     // sent twice
		"missing":     "X-Not-There",
	} {
		value, present := req.LookupHeader(name)
		optional(key, value, present)
	}
	return keystone.Respond(200, keystone.EncodeJSON(seen), map[string]string{"Content-Type": "application/json"})
}
