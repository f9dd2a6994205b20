package main

import (
	"context"
	"strconv"

	"keystone.dev/engine/keystone"
)

// limits: handlers that run into the deadline. X-Case "recursion", else a loop.
//
// Both are endless as far as the handler's work goes, but give up once the call's context is
// done: Go cannot stop a goroutine from outside, so Go code must watch its deadline. The engine
// answers "limit": true at the deadline whether the handler stops or not (a handler that does not
// is counted as a runaway in /health); and a recursion that never stops overflows Go's stack,
// which kills the process: no Go program can recover from that (README.md, "Trust").
func limits(req *keystone.Request) keystone.Decision {
	if req.Header("X-Case") == "recursion" {
		return keystone.RouteTo(strconv.Itoa(deeper(req.Context(), 1)))
	}
	for req.Context().Err() == nil {
		// endless until the deadline
	}
	return keystone.Continue()
}

func deeper(ctx context.Context, n int) int {
	if ctx.Err() != nil {
		return n
	}
	return deeper(ctx, n+1) + 1
}
