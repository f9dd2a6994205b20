package keystone

import (
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) advance(d time.Duration) { c.now = c.now.Add(d) }

// scriptError is the *ScriptError f panics with, or nil.
func scriptError(f func()) (err *ScriptError) {
	defer func() {
		if v := recover(); v != nil {
			err = v.(*ScriptError)
		}
	}()
	f()
	return nil
}

func TestKVTypesAndTenants(t *testing.T) {
	s := newStores(1<<20, 8<<20, time.Now)
	a, b := s.of("a"), s.of("b")
	a.Set("s", "hello", 0)
	a.Set("n", 2.5, 0)
	a.Set("i", 7, 0)
	a.Set("b", true, 0)
	if a.Get("s") != "hello" || a.Get("n") != 2.5 || a.Get("i") != 7.0 || a.Get("b") != true || a.Get("none") != nil {
		t.Errorf("values: %v %v %v %v %v", a.Get("s"), a.Get("n"), a.Get("i"), a.Get("b"), a.Get("none"))
	}
	if b.Get("s") != nil {
		t.Error("tenant b sees tenant a's key")
	}
	if a.Incr("hits", 1, 0) != 1 || a.Incr("hits", 1, 0) != 2 || b.Incr("hits", 1, 0) != 1 {
		t.Error("Incr counts per tenant")
	}
	a.Delete("s")
	a.Set("n", nil, 0)
	if a.Get("s") != nil || a.Get("n") != nil {
		t.Error("Delete and Set(nil) remove the key")
	}
}

// A TTL expires the key; a counter keeps the TTL it was made with (fixed windows).
func TestKVTTL(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	s := newStores(1<<20, 8<<20, clock.Now).of("t")
	s.Set("short", "v", 300*time.Millisecond)
	if s.Incr("window", 1, 300*time.Millisecond) != 1 || s.Incr("window", 1, time.Minute) != 2 {
		t.Fatal("Incr in the window")
	}
	clock.advance(299 * time.Millisecond)
	if s.Get("short") != "v" || s.Get("window") != 2.0 {
		t.Error("expired too early")
	}
	clock.advance(time.Millisecond)
	if s.Get("short") != nil {
		t.Error("not expired after its TTL")
	}
	if s.Incr("window", 1, 0) != 1 {
		t.Error("a counter after its window starts again at 1")
	}
	s.Set("tiny", "v", time.Microsecond) // at least a millisecond
	if s.Get("tiny") != "v" {
		t.Error("a TTL under a millisecond is a millisecond")
	}
}

func TestKVLimits(t *testing.T) {
	s := newStores(64<<10, 8<<20, time.Now).of("small")
	cases := map[string]func(){
		"kv keys are 1 to 256 characters":        func() { s.Set(strings.Repeat("k", 257), "v", 0) },
		"kv keys are 1 to 256 characters ":       func() { s.Incr("", 1, 0) },
		"kv value above 65536 bytes":             func() { s.Set("big", strings.Repeat("x", 64*1024+1), 0) },
		"kv values are strings, numbers or bool": func() { s.Set("k", []int{1}, 0) },
		"kv: the ttl must not be negative":       func() { s.Set("k", "v", -time.Second) },
	}
	for want, f := range cases {
		if err := scriptError(f); err == nil || !strings.HasPrefix(err.Message, strings.TrimSpace(want)) || err.Limit {
			t.Errorf("%s: got %v", want, err)
		}
	}
	s.Set("text", "x", 0)
	if err := scriptError(func() { s.Incr("text", 1, 0) }); err == nil || !strings.Contains(err.Message, "is not a number") {
		t.Errorf("Incr of a string: %v", err)
	}
	// 64 KiB per tenant: the second value of 40 KiB does not fit.
	s.Set("a", strings.Repeat("x", 40<<10), 0)
	err := scriptError(func() { s.Set("b", strings.Repeat("x", 40<<10), 0) })
	if err == nil || !strings.Contains(err.Message, "kv store of tenant small is full") {
		t.Fatalf("a full store: %v", err)
	}
	s.Delete("a") // and room again
	s.Set("b", strings.Repeat("x", 40<<10), 0)
}

// All stores together: the last quarter of the process's bound is kept for tenants that hold
// little, so one tenant cannot take it all.
func TestKVProcessBound(t *testing.T) {
	all := newStores(1<<20, 1<<20, time.Now)
	big := all.of("big")
	var err *ScriptError
	for i := 0; i < 100 && err == nil; i++ {
		err = scriptError(func() { big.Set(strings.Repeat("k", 1+i), strings.Repeat("x", 60<<10), 0) })
	}
	if err == nil || !strings.Contains(err.Message, "the process's kv memory is used up") {
		t.Fatalf("the big tenant was not stopped: %v", err)
	}
	all.of("small").Set("k", strings.Repeat("x", 10<<10), 0) // still room for another tenant
}
