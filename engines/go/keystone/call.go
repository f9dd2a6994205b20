package keystone

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// call is one run of a handler: its deadline, the edits it made so far, its log lines.
type call struct {
	engine    *Engine
	ctx       context.Context
	script    string
	tenant    string
	requestID string

	headers headerEdits // request or response header edits; nil removes
	tally   headerTally
	path    *string // SetPath
	query   *string // SetQuery
	// the response phase
	original int // the backend's status
	status   int // the status to send

	logged atomic.Int32 // lines logged by this call
}

// editHeader records a header edit (value nil: a removal) after the checks the gateway will make.
// Called by the API's SetHeader and RemoveHeader: a misuse names their caller's line.
func (c *call) editHeader(name string, value *string) {
	if problem := nameProblem(name); problem != "" {
		misuse(1, "%s", problem)
	}
	if value != nil {
		if problem := valueProblem(*value); problem != "" {
			misuse(1, "%s", problem)
		}
	}
	if problem := c.tally.add(name, value); problem != "" {
		misuse(1, "%s", problem)
	}
	c.headers.set(name, value)
}

// Handler states, for the runaway count: a handler abandoned at its deadline still runs.
const (
	running int32 = iota
	returned
	abandoned
)

// outcome of a handler: the answer to send, or its failure.
type outcome struct {
	answer any
	err    *ScriptError
}

// run calls body (a handler and the checks of what it returned) in a goroutine of its own and
// waits for it until the deadline, counted from `arrived` (when the request had been read: reading
// its JSON is part of the time the gateway waits, as in the other engines). Go cannot stop a
// goroutine: a handler still running at its deadline is abandoned, answered with a limit error at
// once, and counted as a runaway until it returns (GET /health). A panic in it, or a misuse of the
// API, becomes its script error; file names the handler's source file for errors that cannot name
// a line.
func (e *Engine) run(parent context.Context, arrived time.Time, deadline time.Duration, c *call, file string, body func() outcome) outcome {
	ctx, cancel := context.WithDeadline(parent, arrived.Add(deadline))
	defer cancel()
	if ctx.Err() != nil { // spent before the handler could start
		return outcome{err: deadlineError(parent, file, deadline)}
	}
	c.ctx = ctx
	var state atomic.Int32
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		finished := false
		// Deferred, so that it also runs for a handler that calls runtime.Goexit.
		defer func() {
			if !finished {
				if v := recover(); v != nil {
					o = outcome{err: failureOf(v, panicPos(), file)}
				} else {
					o = outcome{err: &ScriptError{Pos: file, Message: "the handler called runtime.Goexit (or panicked with nil)"}}
				}
			}
			if ctx.Err() != nil && (o.err == nil || !o.err.Limit) {
				o = outcome{err: deadlineError(parent, file, deadline)} // it returned, but after its deadline
			}
			if !state.CompareAndSwap(running, returned) {
				e.runawayNow.Add(-1)
				e.warnf("INFO engine script %s tenant=%s request_id=%s: the handler returned %d ms after its deadline",
					c.script, c.tenant, c.requestID, time.Since(arrived).Milliseconds()-deadline.Milliseconds())
			}
			done <- o
		}()
		o = body()
		finished = true
	}()
	select {
	case o := <-done:
		return o
	case <-ctx.Done():
	}
	now := e.runawayNow.Add(1) // before the handler can see it abandoned and count it down
	if !state.CompareAndSwap(running, abandoned) {
		e.runawayNow.Add(-1)
		return <-done // it returned just as the deadline passed
	}
	e.runawayTotal.Add(1)
	e.warnf("WARNING engine script %s tenant=%s request_id=%s: deadline of %d ms passed and the handler still runs (%d handler(s) past their deadline now)",
		c.script, c.tenant, c.requestID, deadline.Milliseconds(), now)
	return outcome{err: deadlineError(parent, file, deadline)}
}

func deadlineError(parent context.Context, file string, deadline time.Duration) *ScriptError {
	msg := fmt.Sprintf("deadline of %d ms passed", deadline.Milliseconds())
	if parent.Err() != nil {
		msg = "the gateway hung up before the handler returned"
	}
	return &ScriptError{Pos: file, Message: msg, Limit: true}
}
