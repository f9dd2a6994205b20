// An example engine as a team would write one: two routing scripts in Go, compiled into one
// binary that the gateway runs (lua_engine.supervise.command) or that runs on its own.
//
//	go build -o keystone-example-engine ./cmd/example
//	./keystone-example-engine --scripts /etc/keystone/scripts --listen unix:/tmp/example.sock
//
// Tenants name the scripts in their config (lua_script: canary, lua_script: api-gate):
//
//   - canary (canary.go): X-Deploy-ID: 42 goes to the backend canary-42, when the tenant has one,
//     everyone else to the backends labelled version=stable.
//   - api-gate (apigate.go): a known X-API-Key is required (401 otherwise), each client may make
//     100 requests a minute (429 past that, counted in the tenant's kv), and the backend gets
//     X-Client: <client> instead of the key.
//
// The API keys are in api-keys.json in the --scripts directory ({"key": "client", ...});
// SIGHUP or POST /reload reads the file again, and a file that does not parse is refused (422),
// the old keys kept.
package main

import "keystone.dev/engine/keystone"

func main() {
	e := keystone.New(keystone.Options{})
	keys := &keyring{}
	e.Script("canary", keystone.Script{OnRequest: canary})
	e.Script("api-gate", keystone.Script{OnRequest: keys.gate})
	e.OnReload(func() error { return keys.load(e.ScriptsDir()) })
	keystone.Run(e, keys.start)
}
