package keystone

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Script is a routing script written in Go: handlers registered under the name a tenant's
// lua_script gives (Engine.Script). A script has OnRequest, or the original engine's
// OnRouteRequest; OnResponse is optional (the gateway then calls POST /v1/respond with the
// backend's response head).
type Script struct {
	OnRequest      func(req *Request) Decision
	OnResponse     func(res *Response)
	OnRouteRequest func(req *LegacyRequest, backends []Backend) *LegacyAnswer
}

// Options of an Engine; the zero value is the defaults.
type Options struct {
	// Deadline is the longest a call may take (default 50 ms, as the other engines); a request's
	// deadline_ms can only shorten it.
	Deadline time.Duration
	// MaxRunaway: past this many handlers running on after their deadline at once, GET /health
	// answers 503, so that a supervising gateway restarts the engine (three failed checks).
	// Default 8; negative: never.
	MaxRunaway int
	// Log receives the engine's log lines (default os.Stdout).
	Log io.Writer
	// KVTenantBytes and KVTotalBytes bound the key/value stores, per tenant and together
	// (defaults: a sixteenth and an eighth of KEYSTONE_ENGINE_MEMORY, the per-tenant bound at
	// most 64 MiB; without it 16 MiB and 128 MiB).
	KVTenantBytes, KVTotalBytes int64
}

type registered struct {
	name   string
	script Script
	file   string // the handlers' source file, for errors that cannot name a line
	// and OnResponse's
	responseFile string
}

// Engine serves Go scripts over the engine protocol (docs/engine-protocol.md).
type Engine struct {
	opts       Options
	mu         sync.RWMutex
	scripts    map[string]*registered
	version    atomic.Int64
	reloadMu   sync.Mutex
	onReload   func() error
	scriptsDir string

	stores *stores
	logs   *logBudgets
	out    *logWriter

	runawayNow   atomic.Int64 // handlers running past their deadline now
	runawayTotal atomic.Int64 // and since the start
}

// New makes an engine with these options (zero values take the defaults).
func New(opts Options) *Engine {
	if opts.Deadline <= 0 {
		opts.Deadline = 50 * time.Millisecond
	}
	if opts.MaxRunaway == 0 {
		opts.MaxRunaway = 8
	}
	if opts.Log == nil {
		opts.Log = os.Stdout
	}
	tenant, total := kvBounds(os.Getenv("KEYSTONE_ENGINE_MEMORY"))
	if opts.KVTenantBytes <= 0 {
		opts.KVTenantBytes = tenant
	}
	if opts.KVTotalBytes <= 0 {
		opts.KVTotalBytes = total
	}
	e := &Engine{opts: opts, scripts: map[string]*registered{}, out: &logWriter{w: opts.Log}}
	e.version.Store(1)
	e.stores = newStores(opts.KVTenantBytes, opts.KVTotalBytes, time.Now)
	e.logs = newLogBudgets(time.Now)
	return e
}

// kvBounds sizes the stores to the memory a supervising gateway gives the engine.
func kvBounds(memory string) (tenant, total int64) {
	bytes, err := strconv.ParseInt(memory, 10, 64)
	if err != nil || bytes < 16<<20 {
		return 16 << 20, 128 << 20
	}
	tenant = bytes / 16
	if tenant > 64<<20 {
		tenant = 64 << 20
	}
	return tenant, bytes / 8
}

// Script registers (or replaces) the script served under name.
func (e *Engine) Script(name string, s Script) {
	if name == "" {
		panic("keystone: Engine.Script: a script needs a name")
	}
	file := funcFile(s.OnRequest)
	if file == "" {
		file = funcFile(s.OnRouteRequest)
	}
	if file == "" {
		file = name // no entry point, or a method value: errors name the script
	}
	e.mu.Lock()
	responseFile := funcFile(s.OnResponse)
	if responseFile == "" {
		responseFile = name
	}
	e.scripts[name] = &registered{name: name, script: s, file: file, responseFile: responseFile}
	e.mu.Unlock()
}

// OnReload sets what POST /reload and SIGHUP run (re-reading a team's own configuration, say).
// An error refuses the reload (422) and keeps the scripts_version; without a hook a reload
// always succeeds. The handlers are compiled in: a reload cannot change them.
func (e *Engine) OnReload(hook func() error) {
	e.reloadMu.Lock()
	e.onReload = hook
	e.reloadMu.Unlock()
}

// Reload runs the reload hook; the new scripts_version, or the hook's error.
func (e *Engine) Reload() (version int64, err error) {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	if e.onReload != nil {
		func() {
			defer func() {
				if v := recover(); v != nil {
					err = fmt.Errorf("the reload hook panicked: %v", v)
				}
			}()
			err = e.onReload()
		}()
	}
	if err != nil {
		return e.version.Load(), err
	}
	return e.version.Add(1), nil
}

// ScriptsDir is the --scripts directory Run was given ("" without one): a supervising gateway
// passes the directory of the tenants' script files, which a reload hook may read.
func (e *Engine) ScriptsDir() string { return e.scriptsDir }

// KV is a tenant's key/value store, as its handlers see it.
func (e *Engine) KV(tenant string) *Store { return e.stores.of(tenant) }

// Runaway is how many handlers run past their deadline now, and how many did since the start.
func (e *Engine) Runaway() (now, total int64) { return e.runawayNow.Load(), e.runawayTotal.Load() }

func (e *Engine) script(name string) (*registered, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s, ok := e.scripts[name]
	return s, ok
}

// names of the scripts served, sorted.
func (e *Engine) names() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return sortedKeys(e.scripts)
}

// deadline of a call: the engine's, or the gateway's deadline_ms when that is less.
func (e *Engine) deadline(requested time.Duration) time.Duration {
	if requested > 0 && requested < e.opts.Deadline {
		return requested
	}
	return e.opts.Deadline
}

func (e *Engine) logf(format string, args ...any) { e.out.line(fmt.Sprintf(format, args...)) }

// warnf is logf for lines a flood of calls could repeat (runaway handlers): 10 a second at most.
func (e *Engine) warnf(format string, args ...any) {
	if e.logs.engineLine() {
		e.logf(format, args...)
	}
}
