package keystone

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Listen listens on "host:port" or "unix:/path/engine.sock". A unix socket left behind by an
// engine that died is removed; one that a live engine answers on is not.
func Listen(addr string) (net.Listener, error) {
	path := strings.TrimPrefix(addr, "unix:")
	if path == addr {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("--listen: host:port or unix:/path, got '%s'", addr)
		}
		return net.Listen("tcp", addr)
	}
	l, err := net.Listen("unix", path)
	if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
		return l, err
	}
	if probe, dialErr := net.DialTimeout("unix", path, time.Second); dialErr == nil {
		probe.Close()
		return nil, err // a live engine
	}
	os.Remove(path)
	return net.Listen("unix", path)
}

// NewServer is the HTTP/1.1 server Serve runs: limits on headers, reading and writing, and idle
// connections, so that a slow or stuck client cannot hold the engine's connections for ever.
func NewServer(e *Engine) *http.Server {
	return &http.Server{
		Handler:           e.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second, // an 8 MiB body over a slow link
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       90 * time.Second, // longer than the gateway keeps an idle pooled connection
		MaxHeaderBytes:    64 << 10,
	}
}

// Serve serves the engine on addr ("host:port" or "unix:/path") until SIGTERM or SIGINT, then
// stops gracefully (new connections refused, answers in flight finished) and returns nil. SIGHUP
// runs the reload hook (Engine.OnReload). A supervising gateway that names itself in
// KEYSTONE_ENGINE_PARENT is watched: once it is gone, the engine stops too.
func Serve(addr string, e *Engine) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if version, err := e.Reload(); err != nil {
				e.logf("WARNING engine reload rejected: %s", err.Error())
			} else {
				e.logf("INFO engine scripts version %d: %d script(s)", version, len(e.names()))
			}
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go watchParent(os.Getenv("KEYSTONE_ENGINE_PARENT"), e, cancel)
	return ServeContext(ctx, addr, e)
}

// ServeContext serves the engine on addr until ctx is done, then stops gracefully.
func ServeContext(ctx context.Context, addr string, e *Engine) error {
	l, err := Listen(addr)
	if err != nil {
		return err
	}
	srv := NewServer(e)
	names := e.names()
	e.logf("INFO engine serving %d script(s) on %s (deadline %d ms)", len(names), bound(addr, l), e.opts.Deadline.Milliseconds())
	for _, name := range names {
		if s, _ := e.script(name); s.script.OnRequest == nil && s.script.OnRouteRequest == nil {
			e.logf("WARNING engine script %s has neither OnRequest nor OnRouteRequest: every call of it is an error", name)
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	e.logf("INFO engine stopping")
	grace, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		srv.Close() // a client that holds a connection open
	}
	return nil
}

func bound(addr string, l net.Listener) string {
	if strings.HasPrefix(addr, "unix:") {
		return addr
	}
	return l.Addr().String()
}

// watchParent stops the engine once the gateway that supervises it (without a sandbox) is gone,
// killed with -9 too, instead of staying behind orphaned. Checked every second.
func watchParent(value string, e *Engine, stop func()) {
	pid, err := strconv.Atoi(value)
	if value == "" || err != nil || pid <= 1 {
		return
	}
	for range time.Tick(time.Second) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			e.logf("INFO engine stopping: its gateway (pid %d) is gone", pid)
			stop()
			return
		}
	}
}

// Run is main for an engine binary: it reads the command line a supervising gateway gives any
// engine (--scripts DIR --listen ADDR, plus --deadline-ms N), runs the setup functions (loading a
// team's configuration from ScriptsDir, say), serves, and exits: 0 after SIGTERM, 1 when setup
// failed or it could not serve, 2 for a bad command line. Options not on the command line are e's.
func Run(e *Engine, setup ...func(*Engine) error) {
	flags := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	listen := flags.String("listen", "127.0.0.1:8081", "host:port or unix:/path/engine.sock")
	scripts := flags.String("scripts", "", "the tenants' scripts directory (a reload hook may read it; the handlers are compiled in)")
	deadline := flags.Int("deadline-ms", 0, "the longest a call may take, in milliseconds (default 50)")
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if flags.NArg() > 0 || *deadline < 0 {
		fmt.Fprintf(os.Stderr, "%s: unexpected arguments %q\n", os.Args[0], flags.Args())
		os.Exit(2)
	}
	if *deadline > 0 {
		e.opts.Deadline = time.Duration(*deadline) * time.Millisecond
	}
	e.scriptsDir = *scripts
	// A supervising gateway says how much memory the engine has: the garbage collector then works
	// harder well before the kernel's limit is reached (a soft limit; GOMEMLIMIT, when set, wins).
	if mem, err := strconv.ParseInt(os.Getenv("KEYSTONE_ENGINE_MEMORY"), 10, 64); err == nil && mem > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(mem / 4 * 3)
	}
	for _, f := range setup {
		if err := f(e); err != nil {
			e.logf("SEVERE engine did not start: %s", err.Error())
			os.Exit(1)
		}
	}
	if err := Serve(*listen, e); err != nil {
		e.logf("SEVERE engine did not start: %s", err.Error())
		os.Exit(1)
	}
	os.Exit(0)
}
