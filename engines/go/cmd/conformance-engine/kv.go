package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"keystone.dev/engine/keystone"
)

// show is "type:value" of what the store gave, "nil:nil" for nothing (as JavaScript's typeof names it).
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil:nil"
	case string:
		return "string:" + x
	case float64:
		return "number:" + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return "boolean:" + strconv.FormatBool(x)
	}
	return fmt.Sprintf("%T:%v", v, v)
}

// kvScript: the tenant's key/value store. X-Op picks the operation on the key X-Key (X-TTL in
// seconds); the answer is "type:value" of what Get (or Incr) gives afterwards.
func kvScript(req *keystone.Request) keystone.Decision {
	op, key := req.Header("X-Op"), req.Header("X-Key")
	ttl := time.Duration(number(req.Header("X-TTL")) * float64(time.Second))
	store := req.KV()
	switch op {
	case "incr":
		return keystone.Respond(200, show(store.Incr(key, 1, ttl)), nil)
	case "set-string":
		store.Set(key, req.Header("X-Value"), ttl)
	case "set-number":
		store.Set(key, number(req.Header("X-Value")), ttl)
	case "set-boolean":
		store.Set(key, req.Header("X-Value") == "true", ttl)
	case "set-big":
		store.Set(key, strings.Repeat("x", 64*1024+1), 0)
	case "delete":
		store.Delete(key)
	}
	return keystone.Respond(200, show(store.Get(key)), nil)
}
