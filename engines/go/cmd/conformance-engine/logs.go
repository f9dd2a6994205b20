package main

import (
	"strconv"
	"strings"

	"keystone.dev/engine/keystone"
)

// tooBig answers with 2 MiB, above the 1 MiB of a body: a limit error on line 11 (the suite checks it).
func tooBig() keystone.Decision { return keystone.Respond(200, strings.Repeat("x", 1<<21), nil) }

// logs: what Log may write (checks/logs.js reads the engine's log). X-Case "many" logs X-Lines
// lines; "then-fail" logs 20 and then fails with a limit; anything else logs one line.
func logs(req *keystone.Request) keystone.Decision {
	mark := req.Header("X-Mark")
	switch req.Header("X-Case") {
	case "many":
		for i := 1; i <= atoi(req.Header("X-Lines")); i++ {
			req.Log(mark + " line " + strconv.Itoa(i))
		}
	case "then-fail":
		for i := 1; i <= 20; i++ {
			req.Log(mark + " line " + strconv.Itoa(i))
		}
		return tooBig()
	case "quoted":
		req.Log(mark + " said \"hi\" c:\\x\nSEVERE forged request_id=x")
	default:
		req.Log(mark + " line 1")
	}
	return keystone.Respond(200, "logged", nil)
}
