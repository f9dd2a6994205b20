// The conformance engine: every conformance script of engines/conformance/scripts/js/ written as
// Go handlers, under the same names and with the same behaviour, for the language-neutral suite:
//
//	go build -o /tmp/conformance-engine ./cmd/conformance-engine
//	/tmp/conformance-engine --listen unix:/tmp/engine.sock
//	node ../conformance/run.js --engine unix:/tmp/engine.sock --skip hostile
//
// Each file is named like the script it translates. Where the suite checks a line number
// (runtime-error.go, response.go, logs.go), the failing call stands on that line of the Go file.
package main

import (
	"strconv"

	"keystone.dev/engine/keystone"
)

func main() { keystone.Run(newEngine()) }

// newEngine serves the conformance scripts, each under the name of the script it translates.
func newEngine() *keystone.Engine {
	e := keystone.New(keystone.Options{})
	e.Script("decide", keystone.Script{OnRequest: decide})
	e.Script("echo", keystone.Script{OnRequest: echo})
	e.Script("edits", keystone.Script{OnRequest: edits})
	e.Script("helpers", keystone.Script{OnRequest: helpers})
	e.Script("kv", keystone.Script{OnRequest: kvScript})
	e.Script("body", keystone.Script{OnRequest: body})
	e.Script("misuse", keystone.Script{OnRequest: misuse})
	e.Script("response", keystone.Script{OnRequest: responseRequest, OnResponse: responseResponse})
	e.Script("runtime-error", keystone.Script{OnRequest: runtimeError})
	e.Script("limits", keystone.Script{OnRequest: limits})
	e.Script("no-entry", noEntry)
	e.Script("legacy", keystone.Script{OnRouteRequest: legacy})
	e.Script("logs", keystone.Script{OnRequest: logs})
	e.Script("params", keystone.Script{OnRequest: paramsRequest, OnResponse: paramsResponse})
	return e
}

// atoi is the number a header holds, 0 when none (JavaScript's Number() of the conformance scripts).
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func itoa(n int) string { return strconv.Itoa(n) }

// number is the number a header holds ("0.3"), 0 when none.
func number(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}
