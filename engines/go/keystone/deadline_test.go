package keystone_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"keystone.dev/engine/keystone"
)

// A handler still running at its deadline: the answer is a limit error at the deadline, the
// handler is counted as a runaway until it returns, and past MaxRunaway /health is 503.
func TestDeadlineAndRunaways(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, keystone.Options{Deadline: time.Second, MaxRunaway: 1}, map[string]keystone.Script{
		"stuck": {OnRequest: func(req *keystone.Request) keystone.Decision {
			<-release // ignores its context: Go cannot stop it
			return keystone.Continue()
		}},
		"loop": {OnRequest: func(req *keystone.Request) keystone.Decision {
			for req.Context().Err() == nil { // watches its deadline, and gives up after it
			}
			return keystone.Continue()
		}},
	})
	stuck := decideBody("stuck", nil, nil, map[string]any{"deadline_ms": 30})
	started := time.Now()
	_, a := f.post("/v1/decide", stuck)
	took := time.Since(started)
	if a["decision"] != "error" || a["limit"] != true || a["error"] != "deadline_test.go: deadline of 30 ms passed" {
		t.Errorf("stuck: %v", a)
	}
	if took < 30*time.Millisecond || took > 2*time.Second {
		t.Errorf("answered after %v", took)
	}
	_, h := f.get("/health")
	if h["status"] != "healthy" || h["runaway_handlers"] != 1.0 || h["runaway_handlers_total"] != 1.0 {
		t.Errorf("health with one runaway: %v", h)
	}
	f.post("/v1/decide", stuck)
	status, h := f.get("/health")
	if status != 503 || h["status"] != "unhealthy" || h["runaway_handlers"] != 2.0 {
		t.Errorf("health with two runaways (at most 1): %d %v", status, h)
	}
	close(release)
	waitFor(t, func() bool { now, _ := f.engine.Runaway(); return now == 0 })
	if status, h := f.get("/health"); status != 200 || h["runaway_handlers_total"] != 2.0 {
		t.Errorf("health once they returned: %d %v", status, h)
	}
	// A handler that watches its context and returns after the deadline still gets a limit error.
	_, a = f.post("/v1/decide", decideBody("loop", nil, nil, map[string]any{"deadline_ms": 20}))
	if a["limit"] != true || a["error"] != "deadline_test.go: deadline of 20 ms passed" {
		t.Errorf("loop: %v", a)
	}
	if !strings.Contains(f.log.String(), "WARNING engine script stuck tenant=shop request_id=-: deadline of 30 ms passed and the handler still runs") {
		t.Errorf("log: %s", f.log.String())
	}
}

// runtime.Goexit in a handler ends its call with an error, not a hang.
func TestGoexit(t *testing.T) {
	f := newFixture(t, keystone.Options{}, map[string]keystone.Script{"exit": {OnRequest: func(req *keystone.Request) keystone.Decision {
		runtime.Goexit()
		return keystone.Continue()
	}}})
	if a := f.decide("exit"); a["decision"] != "error" || !strings.Contains(a["error"].(string), "runtime.Goexit") {
		t.Errorf("Goexit: %v", a)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 200 && !cond(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if !cond() {
		t.Fatal("condition not met within 2 s")
	}
}

// Serving on a unix socket: /health, POST /reload with its hook, a graceful stop.
func TestServeUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "engine.sock")
	os.WriteFile(sock, nil, 0o600) // a stale file where the socket goes: removed, no live engine answers there
	e := keystone.New(keystone.Options{Log: &syncBuffer{}})
	e.Script("d", keystone.Script{OnRequest: plain})
	var fail atomic.Bool
	e.OnReload(func() error {
		if fail.Load() {
			return os.ErrInvalid
		}
		return nil
	})
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- keystone.ServeContext(ctx, "unix:"+sock, e) }()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	var res *http.Response
	var err error
	waitFor(t, func() bool { res, err = client.Get("http://engine/health?scripts=1"); return err == nil })
	status, h := answerOf(t, res)
	if status != 200 || h["scripts"] != 1.0 || h["scripts_version"] != 1.0 || h["protocol"] != 1.0 || h["names"].([]any)[0] != "d" {
		t.Errorf("health: %d %v", status, h)
	}
	res, _ = client.Post("http://engine/reload", "", nil)
	if status, a := answerOf(t, res); status != 200 || a["reloaded"] != true || a["scripts_version"] != 2.0 {
		t.Errorf("reload: %d %v", status, a)
	}
	fail.Store(true)
	res, _ = client.Post("http://engine/reload", "", nil)
	if status, a := answerOf(t, res); status != 422 || a["reloaded"] != false || a["errors"].([]any)[0] != "invalid argument" {
		t.Errorf("refused reload: %d %v", status, a)
	}
	stop()
	if err := <-served; err != nil {
		t.Errorf("ServeContext: %v", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket is left behind: %v", err)
	}
}

type methods struct{ release chan struct{} }

func (m methods) wait(req *keystone.Request) keystone.Decision {
	<-m.release
	return keystone.Continue()
}

func (m methods) fail(req *keystone.Request) keystone.Decision {
	panic("failed in a method")
}

// A method value as a handler: Go's wrapper of it has no file, so a deadline names the script; a
// panic still names the method's line.
func TestMethodHandlers(t *testing.T) {
	m := methods{release: make(chan struct{})}
	defer close(m.release)
	// the engine's deadline is long (the panic must be answered as itself, not as a missed
	// deadline, on a starved host); the call that waits asks for 20 ms
	f := newFixture(t, keystone.Options{Deadline: 2 * time.Second}, map[string]keystone.Script{
		"wait": {OnRequest: m.wait}, "fail": {OnRequest: m.fail}})
	if _, a := f.post("/v1/decide", decideBody("wait", nil, nil, map[string]any{"deadline_ms": 20})); a["error"] != "wait: deadline of 20 ms passed" {
		t.Errorf("deadline: %v", a)
	}
	if a := f.decide("fail"); !strings.HasPrefix(a["error"].(string), "deadline_test.go:") || !strings.HasSuffix(a["error"].(string), ": failed in a method") {
		t.Errorf("panic: %v", a)
	}
}
