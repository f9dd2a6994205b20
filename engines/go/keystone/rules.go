package keystone

import (
	"fmt"
	"strings"
)

// What a handler may put into a request or a response: header names and values, a path, a
// query. The rules and messages of src/main/java/dev/keystone/script/EditRules.java, which the
// Lua and Node.js engines share, and which the gateway applies again to every engine's answer:
// an edit the gateway would refuse is refused here first, at the handler's line.

// The limits of EditRules.java: what real servers accept, and what a request keeps in flight.
const (
	maxName        = 256
	maxValue       = 8192
	maxHeaders     = 100
	maxHeaderBytes = 64 * 1024
	maxPath        = 8192
	maxQuery       = 8192
	maxText        = 1 << 20 // a body or reason: the 1 MiB every string of a Lua script is held to
)

const tchars = "!#$%&'*+-.^_`|~"

// Headers that frame the message or belong to the connection: the gateway manages them.
var framing = map[string]bool{
	"content-length": true, "transfer-encoding": true, "connection": true, "keep-alive": true,
	"proxy-connection": true, "te": true, "trailer": true, "upgrade": true, "expect": true,
}

func tchar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(tchars, c) >= 0
}

// uriChar: printable ASCII but space and " < > \ ^ ` { | }.
func uriChar(c byte) bool {
	return c > 32 && c < 127 && strings.IndexByte("\"<>\\^`{|}", c) < 0
}

func hexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// badPercent: a '%' not followed by two hex digits.
func badPercent(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !hexDigit(s[i+1]) || !hexDigit(s[i+2])) {
			return true
		}
	}
	return false
}

func cut100(s string) string {
	if len(s) <= 100 {
		return s
	}
	return s[:100]
}

// nameProblem is why n cannot be a header name a handler sets or removes, or "".
func nameProblem(n string) string {
	if len(n) > maxName {
		return fmt.Sprintf("a header name of %d bytes is longer than %d", len(n), maxName)
	}
	ok := n != ""
	for i := 0; ok && i < len(n); i++ {
		ok = tchar(n[i])
	}
	if !ok {
		return fmt.Sprintf("not a header name (a token of letters, digits and %s): '%s'", tchars, cut100(n))
	}
	if framing[strings.ToLower(n)] {
		return fmt.Sprintf("header %s is managed by the gateway (message framing or connection handling)", n)
	}
	return ""
}

// valueProblem: an RFC 9110 field value, no control character but HTAB (no line break may
// smuggle in a second header or request).
func valueProblem(v string) string {
	if len(v) > maxValue {
		return fmt.Sprintf("a header value of %d bytes is longer than %d", len(v), maxValue)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Sprintf("a header value must not contain control characters (found 0x%x)", c)
		}
	}
	return ""
}

// headersProblem: the header edits of one request (or response) together, every edit counted
// (a handler could repeat one big value), as the gateway's Decision.tally counts them.
func headersProblem(count, bytes int) string {
	if count > maxHeaders || bytes > maxHeaderBytes {
		return fmt.Sprintf("a script may set at most %d headers and %d KiB of headers per request or response", maxHeaders, maxHeaderBytes>>10)
	}
	return ""
}

// pathProblem: a path to forward starts with '/', holds URI characters only (at most 8 KiB), no
// '?' or '#', well-formed %-escapes, and no dot segments however a backend decodes it.
func pathProblem(p string) string {
	if !strings.HasPrefix(p, "/") {
		return fmt.Sprintf("the path must start with '/', got '%s'", cut100(p))
	}
	if len(p) > maxPath {
		return fmt.Sprintf("a path of %d bytes is longer than %d", len(p), maxPath)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !uriChar(c) || c == '?' || c == '#' {
			return "the path must hold only the characters of a URI, with no '?' or '#' (percent-encode spaces, non-ASCII and \" < > \\ ^ ` { | }; set_query sets the query)"
		}
	}
	if badPercent(p) {
		return "the path has a '%' not followed by two hex digits"
	}
	if leavesBase(p) {
		return "the path must not contain '.' or '..' segments or control characters, plain or %-encoded in any way a " +
			"backend may decode them: it would leave the service's base path"
	}
	return ""
}

// queryProblem: a query to forward (without '?'): URI characters only, no '#', at most 8 KiB.
func queryProblem(q string) string {
	if len(q) > maxQuery {
		return fmt.Sprintf("a query of %d bytes is longer than %d", len(q), maxQuery)
	}
	for i := 0; i < len(q); i++ {
		if c := q[i]; !uriChar(c) || c == '#' {
			return fmt.Sprintf("the query must hold only the characters of a URI, with no '#' (percent-encode spaces, non-ASCII and \" < > \\ ^ ` { | }), got '%s'", cut100(q))
		}
	}
	if badPercent(q) {
		return "the query has a '%' not followed by two hex digits"
	}
	return ""
}

// headerTally counts the header edits of one request or one response against headersProblem.
type headerTally struct{ count, bytes int }

func (t *headerTally) add(name string, value *string) string {
	t.count++
	t.bytes += len(name)
	if value != nil {
		t.bytes += len(*value)
	}
	return headersProblem(t.count, t.bytes)
}
