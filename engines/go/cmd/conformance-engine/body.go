package main

import (
	"fmt"

	"keystone.dev/engine/keystone"
)

// body: what the handler sees of the request body. X-Case "text": LEN:BODY (LEN in bytes);
// otherwise LEN:FIRST:LAST (byte values); no body: "none".
func body(req *keystone.Request) keystone.Decision {
	if !req.HasBody() {
		return keystone.Respond(200, "none", nil)
	}
	b := req.BodyBytes()
	if req.Header("X-Case") == "text" {
		return keystone.Respond(200, fmt.Sprintf("%d:%s", len(b), req.Body()), nil)
	}
	if len(b) == 0 {
		return keystone.Respond(200, "0::", nil)
	}
	return keystone.Respond(200, fmt.Sprintf("%d:%d:%d", len(b), b[0], b[len(b)-1]), nil)
}
