package main

import "keystone.dev/engine/keystone"

// The suite checks the lines that fail: 6 (a panic, "boom") and 9 (a nil pointer dereferenced).
func explicitFailure() { panic("boom") }

// nilField reads a field of a nil pointer, Go's "indexing nil".
func nilField(missing *struct{ field string }) string { return missing.field }

// runtimeError: a handler that fails at run time, picked by X-Case.
func runtimeError(req *keystone.Request) keystone.Decision {
	switch req.Header("X-Case") {
	case "explicit":
		explicitFailure()
	case "nil-index":
		return keystone.RouteTo(nilField(nil))
	}
	return keystone.Continue()
}
