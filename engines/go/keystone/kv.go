package keystone

import (
	"fmt"
	"sync"
	"time"
	"unicode/utf8"
)

// Store is one tenant's key/value store (docs/scripting.md, "The key/value store"), kept in the
// engine for as long as it runs and shared by all of the tenant's calls: counters, flags, small
// caches. Values are strings, numbers (kept as float64) or booleans. At most 10,000 keys of up to
// 256 characters, values up to 64 KiB, and the engine's bound in bytes per tenant and for all
// tenants together; a write past them is a script error ("kv store of tenant T is full").
// A misuse panics with a *ScriptError naming the caller's line, as the rest of the API does.
type Store struct {
	mu      sync.Mutex
	tenant  string
	entries map[string]*entry
	bytes   int64
	limits  *stores
}

type entry struct {
	value   any // string, float64 or bool
	expires time.Time
	bytes   int64
}

const (
	maxKeys       = 10000
	maxKeyChars   = 256
	maxValueBytes = 64 * 1024
)

// stores: every tenant's store, made on first use, and the bytes all of them hold.
type stores struct {
	mu         sync.Mutex
	byTenant   map[string]*Store
	tenantMax  int64
	processMax int64
	used       int64 // guarded by mu
	clock      func() time.Time
}

func newStores(tenantMax, processMax int64, clock func() time.Time) *stores {
	return &stores{byTenant: map[string]*Store{}, tenantMax: tenantMax, processMax: processMax, clock: clock}
}

func (s *stores) of(tenant string) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.byTenant[tenant]
	if st == nil {
		st = &Store{tenant: tenant, entries: map[string]*entry{}, limits: s}
		s.byTenant[tenant] = st
	}
	return st
}

// reserve is whether a store holding `held` bytes may take `grow` more of the process's bound.
// The last quarter of it is kept for stores that hold little (up to a sixty-fourth each), so that
// a few tenants filling theirs cannot leave the others no room (the Node.js engine's kv.js).
func (s *stores) reserve(grow, held int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if grow > 0 && s.used+grow > s.processMax {
		return false
	}
	if grow > 0 && s.used+grow > s.processMax*3/4 && held+grow > s.processMax/64 {
		return false
	}
	s.used += grow
	return true
}

func (s *stores) release(bytes int64) {
	s.mu.Lock()
	s.used -= bytes
	s.mu.Unlock()
}

// Get is the key's value (a string, float64 or bool), or nil when absent or expired.
func (s *Store) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	if e == nil {
		return nil
	}
	if s.expired(e, s.limits.clock()) {
		s.remove(key)
		return nil
	}
	return e.value
}

// Set stores a value for ttl (0: no expiry; at least a millisecond otherwise). A nil value
// deletes the key. Values are strings, booleans or numbers of any Go numeric type.
func (s *Store) Set(key string, value any, ttl time.Duration) {
	v, problem := kvValue(value)
	if problem == "" {
		problem = checkKey(key, ttl)
	}
	if problem != "" {
		misuse(0, "%s", problem)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v == nil {
		s.remove(key)
		return
	}
	if str, ok := v.(string); ok && len(str) > maxValueBytes {
		misuse(0, "kv value above %d bytes", maxValueBytes)
	}
	if problem := s.put(key, &entry{value: v, expires: s.expiry(ttl), bytes: size(key, v)}); problem != "" {
		misuse(0, "%s", problem)
	}
}

// Incr adds `by` to a number and returns it: absent or expired counts as 0, and a new key gets
// the TTL, which an existing one keeps (Incr("minute", 1, time.Minute) counts in fixed windows).
func (s *Store) Incr(key string, by float64, ttl time.Duration) float64 {
	if problem := checkKey(key, ttl); problem != "" {
		misuse(0, "%s", problem)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.entries[key]
	if old == nil || s.expired(old, s.limits.clock()) {
		if problem := s.put(key, &entry{value: by, expires: s.expiry(ttl), bytes: size(key, by)}); problem != "" {
			misuse(0, "%s", problem)
		}
		return by
	}
	n, ok := old.value.(float64)
	if !ok {
		misuse(0, "kv.incr: the value of '%s' is not a number", key)
	}
	old.value = n + by
	return n + by
}

// Delete removes the key.
func (s *Store) Delete(key string) {
	if problem := checkKey(key, 0); problem != "" {
		misuse(0, "%s", problem)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(key)
}

// put stores e under key if the store and the process have room; else why not.
func (s *Store) put(key string, e *entry) string {
	old := s.entries[key]
	var oldBytes int64
	if old != nil {
		oldBytes = old.bytes
	}
	if old == nil && len(s.entries) >= maxKeys {
		s.dropExpired()
		if len(s.entries) >= maxKeys {
			return fmt.Sprintf("kv store of tenant %s is full (%d keys): set a ttl or delete keys", s.tenant, maxKeys)
		}
	}
	grow := e.bytes - oldBytes
	if grow > 0 && s.bytes+grow > s.limits.tenantMax {
		s.dropExpired()
	}
	if grow > 0 && (s.bytes+grow > s.limits.tenantMax || !s.limits.reserve(grow, s.bytes)) {
		processFull := ""
		if s.bytes+grow <= s.limits.tenantMax {
			processFull = ", and the process's kv memory is used up"
		}
		return fmt.Sprintf("kv store of tenant %s is full (%d KiB of %d KiB%s): set a ttl or delete keys", s.tenant, s.bytes>>10, s.limits.tenantMax>>10, processFull)
	}
	if grow < 0 {
		s.limits.release(-grow)
	}
	s.bytes += grow
	s.entries[key] = e
	return ""
}

func (s *Store) remove(key string) {
	if old := s.entries[key]; old != nil {
		delete(s.entries, key)
		s.bytes -= old.bytes
		s.limits.release(old.bytes)
	}
}

func (s *Store) dropExpired() {
	now := s.limits.clock()
	for k, e := range s.entries {
		if s.expired(e, now) {
			s.remove(k)
		}
	}
}

func (s *Store) expired(e *entry, now time.Time) bool {
	return !e.expires.IsZero() && !now.Before(e.expires)
}

func (s *Store) expiry(ttl time.Duration) time.Time {
	if ttl == 0 {
		return time.Time{}
	}
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	return s.limits.clock().Add(ttl.Truncate(time.Millisecond))
}

func checkKey(key string, ttl time.Duration) string {
	if key == "" || utf8.RuneCountInString(key) > maxKeyChars {
		return fmt.Sprintf("kv keys are 1 to %d characters", maxKeyChars)
	}
	if ttl < 0 {
		return "kv: the ttl must not be negative"
	}
	return ""
}

// kvValue is a value as the store keeps it: a string, float64, bool, or nil (delete).
func kvValue(v any) (any, string) {
	switch x := v.(type) {
	case nil, string, bool, float64:
		return x, ""
	case float32:
		return float64(x), ""
	case int:
		return float64(x), ""
	case int8:
		return float64(x), ""
	case int16:
		return float64(x), ""
	case int32:
		return float64(x), ""
	case int64:
		return float64(x), ""
	case uint:
		return float64(x), ""
	case uint8:
		return float64(x), ""
	case uint16:
		return float64(x), ""
	case uint32:
		return float64(x), ""
	case uint64:
		return float64(x), ""
	}
	return nil, fmt.Sprintf("kv values are strings, numbers or booleans, not a %T", v)
}

// size is a generous estimate of what an entry takes (KeyValueStore.size in Java).
func size(key string, value any) int64 {
	n := int64(96 + len(key))
	if s, ok := value.(string); ok {
		return n + 40 + int64(len(s))
	}
	return n + 16
}
