package keystone

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"math/rand"
	"strings"
	"sync"
	"time"
)

// The helpers of docs/scripting.md ("Helpers") for Go handlers. A misuse panics with a
// *ScriptError naming the caller's line, as the rest of the API does.

// Hash is a stable number in 0 .. 2^31-1: FNV-1a (32 bit) of the string's bytes, masked to 31
// bits, the same on every engine, instance and version: Hash(user)%100 < 10 is a sticky 10 %.
func Hash(s string) int {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return int(h & 0x7fffffff)
}

// Now is the time in seconds since 1970, with milliseconds (as now() in the other engines).
func Now() float64 { return float64(time.Now().UnixMilli()) / 1000 }

// random numbers: math/rand seeded once from crypto/rand (Go 1.19's global source starts from
// the same seed in every process), behind a lock (a rand.Source is not safe for goroutines).
var rng = struct {
	sync.Mutex
	*rand.Rand
}{Rand: rand.New(rand.NewSource(seed()))}

func seed() int64 {
	var b [8]byte
	if _, err := crand.Read(b[:]); err != nil {
		return time.Now().UnixNano()
	}
	return int64(binary.LittleEndian.Uint64(b[:]))
}

// Random is a number in [0, 1).
func Random() float64 {
	rng.Lock()
	defer rng.Unlock()
	return rng.Float64()
}

// RandomInt is an integer in 1..n (random(n)); n below 1 is a script error.
func RandomInt(n int) int {
	if n < 1 {
		misuse(0, "random: interval is empty")
	}
	rng.Lock()
	defer rng.Unlock()
	return 1 + rng.Intn(n)
}

// RandomRange is an integer in m..n (random(m, n)); m above n is a script error.
func RandomRange(m, n int) int {
	if m > n {
		misuse(0, "random: interval is empty")
	}
	rng.Lock()
	defer rng.Unlock()
	return m + int(rng.Int63n(int64(n)-int64(m)+1))
}

// EncodeJSON is v as JSON text (encoding/json, without HTML escaping, as the other engines write
// it). A value encoding/json cannot write is a script error; a text above 1 MiB is a limit error.
func EncodeJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		misuse(0, "json.encode: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if b.Len()-1 > maxText {
		overLimit(0, "json.encode: string above the limit of %d bytes", maxText)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// DecodeJSON decodes JSON text into v (a pointer, as for json.Unmarshal). Text that is not
// JSON, or does not fit v, is a script error.
func DecodeJSON(text string, v any) {
	if err := json.Unmarshal([]byte(text), v); err != nil {
		misuse(0, "json.decode: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
}
