package keystone

import (
	"sort"
	"strings"
)

type decisionKind int

const (
	kindContinue decisionKind = iota
	kindRoute
	kindRespond
	kindReject
)

// Decision is what OnRequest returns: Continue (also the zero value), RouteTo, RouteToLabels,
// Respond or Reject. Request edits apply whatever the decision.
type Decision struct {
	kind     decisionKind
	name     string            // RouteTo
	labels   map[string]string // RouteToLabels (byLabels)
	byLabels bool
	status   int
	body     string
	headers  map[string]string
	reason   string
	pc       uintptr // where it was made: an error found when it is applied names that line
}

// Continue routes over the tenant's healthy backends as without a script.
func Continue() Decision { return Decision{} }

// RouteTo sends the request to the backend of that name (an unhealthy one too: the gateway then
// answers 503). A name the tenant has no backend of is a script error at this call's line,
// reported when the handler returns its decision.
func RouteTo(name string) Decision {
	return Decision{kind: kindRoute, name: name, pc: callerPC(1)}
}

// RouteToLabels sends the request to one of the backends that have all these labels (the
// gateway picks a healthy one). No backend with them is a script error at this call's line.
func RouteToLabels(labels map[string]string) Decision {
	return Decision{kind: kindRoute, labels: copyLabels(labels), byLabels: true, pc: callerPC(1)}
}

// Respond answers without a backend: status 200-599 (a 1xx is an interim answer, never a final
// one), a body of at most 1 MiB, and headers (nil for none) that follow SetHeader's rules.
func Respond(status int, body string, headers map[string]string) Decision {
	if status < 200 || status > 599 {
		misuse(0, "respond: status must be between 200 and 599, got %d", status)
	}
	if len(body) > maxText {
		overLimit(0, "respond: a body of %d bytes is above the limit of %d", len(body), maxText)
	}
	d := Decision{kind: kindRespond, status: status, body: body, headers: map[string]string{}, pc: callerPC(1)}
	var tally headerTally
	for _, name := range sortedKeys(headers) { // the first bad header named is the same every time
		value := headers[name]
		if problem := nameProblem(name); problem != "" {
			misuse(0, "%s", problem)
		}
		if problem := valueProblem(value); problem != "" {
			misuse(0, "%s", problem)
		}
		if problem := tally.add(name, &value); problem != "" {
			misuse(0, "%s", problem)
		}
		d.headers[name] = value
	}
	return d
}

// Reject refuses the request: status 400-599; the gateway answers "<status> <reason> (request
// id ...)". A reason above 1 MiB is a limit error.
func Reject(status int, reason string) Decision {
	if status < 400 || status > 599 {
		misuse(0, "reject: status must be between 400 and 599, got %d", status)
	}
	if len(reason) > maxText {
		overLimit(0, "reject: a reason of %d bytes is above the limit of %d", len(reason), maxText)
	}
	return Decision{kind: kindReject, status: status, reason: reason, pc: callerPC(1)}
}

// route is a route decision resolved against the request's backends: how the handler named its
// target ("canary-42" or "{version=canary, zone=b}") and the candidates, in the tenant's order.
type route struct {
	target   string
	backends []string
}

// resolve checks a route against the backends the gateway offered; the error names the line of
// the RouteTo or RouteToLabels call.
func (d *Decision) resolve(tenant string, offered []Backend) (route, *ScriptError) {
	var r route
	if !d.byLabels {
		r.target = d.name
		for _, b := range offered {
			if b.Name == d.name {
				r.backends = append(r.backends, b.Name)
			}
		}
		if len(r.backends) == 0 {
			return r, &ScriptError{Pos: pcPos(d.pc), Message: "route_to: tenant " + tenant + " has no backend named '" + d.name + "'"}
		}
		return r, nil
	}
	keys := sortedKeys(d.labels)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + d.labels[k]
	}
	r.target = "{" + strings.Join(parts, ", ") + "}"
	for _, b := range offered {
		all := true
		for _, k := range keys {
			if v, ok := b.Labels[k]; !ok || v != d.labels[k] {
				all = false
				break
			}
		}
		if all {
			r.backends = append(r.backends, b.Name)
		}
	}
	if len(r.backends) == 0 {
		return r, &ScriptError{Pos: pcPos(d.pc), Message: "route_to: no backend of tenant " + tenant + " has the labels " + r.target}
	}
	return r, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
