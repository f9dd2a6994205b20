// Package keystone is the Go SDK for Keystone script engines: routing scripts written as Go
// handlers, compiled into an engine binary that serves them over the engine protocol
// (docs/engine-protocol.md: POST /v1/decide, POST /v1/respond, the original POST
// /route/{tenant}, GET /health, POST /reload), with the API, edit rules, limits and error
// messages of the Lua and JavaScript engines (docs/scripting.md).
//
//	e := keystone.New(keystone.Options{})
//	e.Script("canary", keystone.Script{OnRequest: func(req *keystone.Request) keystone.Decision {
//		if req.Header("X-Deploy-ID") == "42" {
//			return keystone.RouteTo("canary-42")
//		}
//		return keystone.RouteToLabels(map[string]string{"version": "stable"})
//	}})
//	keystone.Run(e) // --listen host:port or unix:/path; SIGTERM stops, SIGHUP reloads
//
// A misuse of the API (an unknown backend, a header that frames the message, a status out of
// range) and a panic are the call's script error, {"decision": "error", "error":
// "file.go:LINE: ...", "limit": false}, naming the handler's line; the deadline is a limit error
// ("limit": true). The handlers are the team's own compiled code, trusted as such: Go cannot stop
// a goroutine, so a handler that runs past its deadline is answered for and counted, not stopped
// (README.md, "Trust and isolation").
package keystone
