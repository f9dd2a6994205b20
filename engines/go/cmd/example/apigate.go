package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"keystone.dev/engine/keystone"
)

// perMinute is how many requests a client may make in a one-minute window.
const perMinute = 100

// keyring holds the API keys (key to client name), replaced whole on a reload: a handler reads
// one version of it without a lock.
type keyring struct {
	keys atomic.Pointer[map[string]string]
}

// load reads api-keys.json in dir; without a directory or a file there are no keys (every
// request is refused) rather than an engine that does not start.
func (k *keyring) load(dir string) error {
	keys := map[string]string{}
	if dir != "" {
		text, err := os.ReadFile(filepath.Join(dir, "api-keys.json"))
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		if err == nil {
			if err := json.Unmarshal(text, &keys); err != nil {
				return fmt.Errorf("%s: %w", filepath.Join(dir, "api-keys.json"), err)
			}
		}
	}
	k.keys.Store(&keys)
	return nil
}

// start loads the keys once the command line is read (Run calls it before serving).
func (k *keyring) start(e *keystone.Engine) error { return k.load(e.ScriptsDir()) }

func (k *keyring) client(key string) (string, bool) {
	keys := k.keys.Load()
	if keys == nil || key == "" {
		return "", false
	}
	client, ok := (*keys)[key]
	return client, ok
}

// gate lets a known API key through, perMinute requests a minute per client, and hands the
// backend the client's name instead of the key.
func (k *keyring) gate(req *keystone.Request) keystone.Decision {
	client, ok := k.client(req.Header("X-API-Key"))
	if !ok {
		return keystone.Reject(401, "missing or unknown API key")
	}
	// A fixed window: the counter's TTL is set by the window's first request and kept after.
	n := req.KV().Incr("rate:"+client, 1, time.Minute)
	if n > perMinute {
		if n == perMinute+1 {
			req.Log("client", client, "throttled: more than", perMinute, "requests this minute")
		}
		return keystone.Respond(429, "too many requests\n", map[string]string{"Retry-After": "60", "Content-Type": "text/plain"})
	}
	req.RemoveHeader("X-API-Key")
	req.SetHeader("X-Client", client)
	return keystone.Continue()
}
