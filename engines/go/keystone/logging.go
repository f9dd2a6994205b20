package keystone

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// The engine's log: one line per entry on standard output, "TIME LEVEL text", as the Node.js
// engine writes it. A script's line is "INFO script tenant=T request_id=R log="TEXT"", TEXT cut at
// 2,000 characters with control characters, " and \ escaped, so that a handler cannot forge a
// line or a field of the engine's (docs/scripting.md, "Helpers": log).

const (
	maxLogText        = 2000
	maxLogLinesACall  = 20
	logLinesPerSecond = 100
	logBurst          = 200
)

type logWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logWriter) line(text string) {
	stamp := time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, stamp+" "+oneLine(text)+"\n") //nolint:errcheck // a log that cannot be written is not the caller's failure
}

// oneLine escapes line breaks in the engine's own lines (a tenant's name in them, say).
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\u2028\u2029") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\u2028", `\u2028`, "\u2029", `\u2029`).Replace(s)
}

// shortText is text for the inside of a quoted field: at most max characters (a longer text is cut
// and marked "..."), control characters escaped (\n, \r, \t, \xHH; C1 controls, U+2028 and
// U+2029 as \uHHHH), and " and \ escaped too (LogText.java, the Node.js engine's log-text.js).
func shortText(text string, max int) string {
	var out strings.Builder
	written := 0 // characters, as the other engines count them
	put := func(s string) {
		out.WriteString(s)
		written += len(s)
	}
	rest := false
	for _, c := range text {
		if written >= max {
			rest = true
			break
		}
		switch {
		case c == '\n':
			put(`\n`)
		case c == '\r':
			put(`\r`)
		case c == '\t':
			put(`\t`)
		case c == '"':
			put(`\"`)
		case c == '\\':
			put(`\\`)
		case c < 0x20 || c == 0x7f:
			put(fmt.Sprintf(`\x%02x`, c))
		case c >= 0x80 && c < 0xa0 || c == 0x2028 || c == 0x2029:
			put(fmt.Sprintf(`\u%04x`, c))
		default:
			out.WriteRune(c)
			written++
		}
	}
	if rest {
		out.WriteString("...")
	}
	return out.String()
}

// tokenBucket: refilled at perSecond a second, at most burst; starts full.
type tokenBucket struct {
	perSecond, burst, tokens float64
	at                       time.Time
}

func (b *tokenBucket) take(now time.Time) bool {
	b.tokens += now.Sub(b.at).Seconds() * b.perSecond
	if b.tokens > b.burst {
		b.tokens = b.burst
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// logBudgets: each tenant's log lines, 100 a second with a burst of 200 (LogBudget.java), and
// how many of its lines were dropped since the last one written.
type logBudgets struct {
	mu      sync.Mutex
	clock   func() time.Time
	tenants map[string]*tenantLog
	engine  tokenBucket // the engine's own warnings about runaway handlers
}

type tenantLog struct {
	bucket  tokenBucket
	dropped int
}

func newLogBudgets(clock func() time.Time) *logBudgets {
	return &logBudgets{clock: clock, tenants: map[string]*tenantLog{}, engine: tokenBucket{perSecond: 10, burst: 50, tokens: 50, at: clock()}}
}

// acquire is whether the tenant may write a line now, and the note to append to it (how many
// were dropped before).
func (b *logBudgets) acquire(tenant string) (ok bool, note string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock()
	t := b.tenants[tenant]
	if t == nil {
		if len(b.tenants) >= 10000 {
			b.prune(now)
		}
		t = &tenantLog{bucket: tokenBucket{perSecond: logLinesPerSecond, burst: logBurst, tokens: logBurst, at: now}}
		b.tenants[tenant] = t
	}
	if !t.bucket.take(now) {
		t.dropped++
		return false, ""
	}
	if t.dropped > 0 {
		note = fmt.Sprintf(" (%d earlier line(s) of this tenant dropped: at most %d a second)", t.dropped, logLinesPerSecond)
		t.dropped = 0
	}
	return true, note
}

// prune forgets tenants whose budget is full again: a flood of tenant names cannot grow the map.
func (b *logBudgets) prune(now time.Time) {
	for name, t := range b.tenants {
		if t.dropped == 0 && t.bucket.tokens+now.Sub(t.bucket.at).Seconds()*t.bucket.perSecond >= t.bucket.burst {
			delete(b.tenants, name)
		}
	}
}

func (b *logBudgets) engineLine() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.engine.take(b.clock())
}

// log is Request.Log and Response.Log: at most 20 lines a call, then one line saying the rest
// were dropped, each within the tenant's budget.
func (c *call) log(args []any) {
	n := c.logged.Add(1)
	if n > maxLogLinesACall+1 {
		return
	}
	ok, note := c.engine.logs.acquire(c.tenant)
	if !ok {
		return
	}
	prefix := "INFO script tenant=" + c.tenant + " request_id=" + c.requestID
	if n > maxLogLinesACall {
		c.engine.out.line(fmt.Sprintf(`%s log="(further log lines of this call dropped: at most %d a call)"%s`, prefix, maxLogLinesACall, note))
		return
	}
	parts := make([]string, len(args))
	size := 0
	for i, a := range args {
		if size > maxLogText {
			parts = parts[:i] // the line is full: the rest would be cut anyway
			break
		}
		parts[i] = fmt.Sprint(a)
		size += len(parts[i]) + 1
	}
	c.engine.out.line(prefix + ` log="` + shortText(strings.Join(parts, " "), maxLogText) + `"` + note)
}
