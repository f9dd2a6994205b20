package keystone

import (
	"context"
	"time"
)

// What one call does: run the script's handler under the deadline and make the answer of what
// it returned. The checks of the decision run in the handler's goroutine, after it returned, so
// that an error in them (an unknown backend) is that call's script error like any other.

// decide runs OnRequest (or OnRouteRequest) for req; the answer in the new format, or, compat,
// in the original engine's. ok is false for a script failure (the original format answers 500).
func (e *Engine) decide(ctx context.Context, arrived time.Time, s *registered, req *Request, deadline time.Duration, compat bool) (answer any, ok bool) {
	c := &call{engine: e, script: s.name, tenant: req.Tenant, requestID: req.RequestID}
	req.call = c
	o := e.run(ctx, arrived, e.deadline(deadline), c, s.file, func() outcome {
		d, err := e.handle(s, c, req)
		if err != nil {
			return outcome{err: err}
		}
		if compat {
			return outcome{answer: toCompat(d, c, req.backends)}
		}
		return outcome{answer: toAnswer(d, c, s.script.OnResponse != nil)}
	})
	if o.err != nil {
		return toError(o.err), false
	}
	return o.answer, true
}

// handle calls the script's entry point and checks what it returned.
func (e *Engine) handle(s *registered, c *call, req *Request) (decided, *ScriptError) {
	switch {
	case s.script.OnRequest != nil:
		dec := s.script.OnRequest(req)
		if err := req.params.changed(s.file); err != nil {
			return decided{}, err
		}
		return applyDecision(dec, c, req)
	case s.script.OnRouteRequest != nil:
		lr := &LegacyRequest{Method: req.Method, Path: req.Path, Host: req.Host, headers: req.headers, tenant: req.Tenant, call: c}
		a := s.script.OnRouteRequest(lr, req.Backends())
		pos := funcPos(s.script.OnRouteRequest)
		if pos == "" {
			pos = s.file
		}
		return legacyDecision(a, c, req.Tenant, req.backends, pos)
	default:
		return decided{}, &ScriptError{Message: s.name + ": defines neither OnRequest nor OnRouteRequest"}
	}
}

// applyDecision checks a Decision against the request: a route names offered backends, and a
// respond's headers count with the request's header edits (the gateway tallies them together).
func applyDecision(dec Decision, c *call, req *Request) (decided, *ScriptError) {
	d := decided{kind: dec.kind, status: dec.status, body: dec.body, headers: dec.headers, reason: dec.reason}
	switch dec.kind {
	case kindRoute:
		r, err := dec.resolve(req.Tenant, req.backends)
		if err != nil {
			return d, err
		}
		d.route = r
	case kindRespond:
		tally := c.tally
		for name, value := range dec.headers {
			value := value
			if problem := tally.add(name, &value); problem != "" {
				return d, &ScriptError{Pos: pcPos(dec.pc), Message: problem}
			}
		}
	}
	return d, nil
}

// respond runs OnResponse for the backend's response head: the status and header edits, or
// the status unchanged for a script without OnResponse (no call is made then).
func (e *Engine) respond(ctx context.Context, arrived time.Time, s *registered, req *Request, head responseHead, deadline time.Duration) any {
	if s.script.OnResponse == nil {
		return respondAnswer{Version: protocolVersion, Status: head.status}
	}
	c := &call{engine: e, script: s.name, tenant: req.Tenant, requestID: req.RequestID, original: head.status, status: head.status}
	res := &Response{Status: head.status, Backend: head.backend, Method: req.Method, Path: req.Path, Tenant: req.Tenant,
		RequestID: req.RequestID, Params: req.params.m, params: req.params, headers: head.headers, call: c}
	o := e.run(ctx, arrived, e.deadline(deadline), c, s.responseFile, func() outcome {
		s.script.OnResponse(res)
		if err := res.params.changed(s.responseFile); err != nil {
			return outcome{err: err}
		}
		return outcome{answer: respondAnswer{Version: protocolVersion, Status: c.status, Headers: &c.headers}}
	})
	if o.err != nil {
		return toError(o.err)
	}
	return o.answer
}
