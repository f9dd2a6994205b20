package main

import (
	"strconv"
	"strings"

	"keystone.dev/engine/keystone"
)

// legacy: a script of the original engine's interface, served by POST /route/legacy (the script
// named like the tenant). X-Case picks the answer.
func legacy(req *keystone.LegacyRequest, backends []keystone.Backend) *keystone.LegacyAnswer {
	switch req.Header("x-case") {
	case "reject":
		return &keystone.LegacyAnswer{Reject: true, RejectReason: "blocked"}
	case "nothing":
		return nil
	case "many-headers":
		many := map[string]string{}
		for i := 1; i <= 101; i++ {
			many["X-H"+strconv.Itoa(i)] = "v"
		}
		return &keystone.LegacyAnswer{ModifiedHeaders: many}
	}
	seen := []string{}
	for _, b := range backends {
		seen = append(seen, b.Name+"="+strconv.FormatBool(b.Healthy))
	}
	return &keystone.LegacyAnswer{
		SelectedBackend: backends[len(backends)-1].Name,
		ModifiedHeaders: map[string]string{
			"X-Seen":   strings.Join(seen, ","),
			"X-Host":   req.Host,
			"X-Method": req.Method,
			"X-Body":   "[" + req.Body + "]",
		},
		ModifiedPath: "/legacy" + req.Path,
	}
}
