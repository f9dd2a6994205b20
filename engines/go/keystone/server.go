package keystone

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The HTTP endpoints of docs/engine-protocol.md, with the statuses and messages of
// engine/EngineServer.java: 400 {"error"} for a bad exchange, 404 for an unknown script or
// endpoint, 413 for a body over 8 MiB, and every answer application/json.

const (
	// maxBody: a decide request's most, a 1 MiB script_body as JSON text (up to 6 MiB of
	// escapes) with headers and backends.
	maxBody  = 8 << 20
	maxDrain = 2 * maxBody // a refused body is read and dropped up to this, so the client reads our 413
)

// Handler is the engine's HTTP handler, for a server of your own (Serve makes one).
func (e *Engine) Handler() http.Handler { return http.HandlerFunc(e.serveHTTP) }

func (e *Engine) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/health" && r.Method == http.MethodGet:
		e.health(w, r.URL.Query().Get("scripts") == "1")
	case path == "/reload" && r.Method == http.MethodPost:
		e.reload(w)
	case path == "/v1/decide" && r.Method == http.MethodPost:
		e.withBody(w, r, func(o object, arrived time.Time) (int, any, error) {
			name, err := scriptOf(o)
			if err != nil {
				return 0, nil, err
			}
			if _, err := required(o, "tenant"); err != nil {
				return 0, nil, err
			}
			deadline, err := deadlineOf(o)
			if err != nil {
				return 0, nil, err
			}
			s, found := e.script(name)
			if !found { // before the request is checked, as in Java
				return http.StatusNotFound, noScript(name), nil
			}
			req, err := parseRequest(o, true)
			if err != nil {
				return 0, nil, err
			}
			answer, _ := e.decide(r.Context(), arrived, s, req, deadline, false)
			return http.StatusOK, answer, nil
		})
	case path == "/v1/respond" && r.Method == http.MethodPost:
		e.withBody(w, r, func(o object, arrived time.Time) (int, any, error) {
			// As in Java, the whole body is checked before the script is looked up.
			name, err := scriptOf(o)
			if err != nil {
				return 0, nil, err
			}
			if _, err := required(o, "tenant"); err != nil {
				return 0, nil, err
			}
			head, err := parseHead(o)
			if err != nil {
				return 0, nil, err
			}
			req, err := parseRequest(o, false)
			if err != nil {
				return 0, nil, err
			}
			deadline, err := deadlineOf(o)
			if err != nil {
				return 0, nil, err
			}
			s, found := e.script(name)
			if !found {
				return http.StatusNotFound, noScript(name), nil
			}
			return http.StatusOK, e.respond(r.Context(), arrived, s, req, head, deadline), nil
		})
	case strings.HasPrefix(path, "/route/") && r.Method == http.MethodPost:
		tenant := strings.TrimPrefix(path, "/route/")
		name := tenant // the original engine: a script per tenant, or ?script=NAME
		if q := r.URL.Query(); q.Has("script") {
			name = q.Get("script")
		}
		e.withBody(w, r, func(o object, arrived time.Time) (int, any, error) {
			s, found := e.script(name)
			if !found {
				return http.StatusNotFound, noScript(name), nil
			}
			req, err := parseCompat(tenant, o)
			if err != nil {
				return 0, nil, err
			}
			answer, ok := e.decide(r.Context(), arrived, s, req, 0, true)
			if !ok {
				return http.StatusInternalServerError, answer, nil
			}
			return http.StatusOK, answer, nil
		})
	default:
		send(w, http.StatusNotFound, errorBody{"no such endpoint: " + r.Method + " " + path})
	}
}

type errorBody struct {
	Error string `json:"error"`
}

func noScript(name string) errorBody { return errorBody{"no script '" + name + "' in this engine"} }

// withBody reads a JSON object of at most 8 MiB and answers what answer makes of it (given when
// the body had been read: the call's deadline counts from then); a badRequest is 400 naming the field.
func (e *Engine) withBody(w http.ResponseWriter, r *http.Request, answer func(object, time.Time) (int, any, error)) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	arrived := time.Now()
	o, err := parseObject(body)
	status, v := 0, any(nil)
	if err == nil {
		status, v, err = answer(o, arrived)
	}
	var br *badRequest
	switch {
	case errors.As(err, &br):
		send(w, http.StatusBadRequest, errorBody{br.msg})
	case err != nil:
		send(w, http.StatusInternalServerError, errorBody{"engine failure: " + err.Error()})
	default:
		send(w, status, v)
	}
}

// readBody reads the request's body, answering 413 itself above maxBody (after reading and
// dropping up to maxDrain of it, so that the client reads the answer, not a reset connection).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	tooLarge := func() ([]byte, bool) {
		io.CopyN(io.Discard, r.Body, maxDrain) //nolint:errcheck // best effort: the answer is 413 anyway
		send(w, http.StatusRequestEntityTooLarge, errorBody{"request body above " + strconv.Itoa(maxBody) + " bytes"})
		return nil, false
	}
	if r.ContentLength > maxBody {
		return tooLarge()
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, maxBody+1)); err != nil {
		send(w, http.StatusBadRequest, errorBody{"the body could not be read: " + err.Error()})
		return nil, false
	}
	if buf.Len() > maxBody {
		return tooLarge()
	}
	return buf.Bytes(), true
}

// send writes v as JSON (HTML characters unescaped, as the other engines write them).
func send(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"error":"engine failure: the answer could not be written"}` + "\n")
	}
	text := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(status)
	w.Write(text) //nolint:errcheck // the client went away: nothing to do
}

type healthAnswer struct {
	Status         string   `json:"status"`
	Scripts        int      `json:"scripts"`
	ScriptsVersion int64    `json:"scripts_version"`
	Protocol       int      `json:"protocol"`
	RunawayNow     int64    `json:"runaway_handlers"`
	RunawayTotal   int64    `json:"runaway_handlers_total"`
	Names          []string `json:"names,omitempty"`
	Error          string   `json:"error,omitempty"`
}

// health: GET /health. Past MaxRunaway handlers running after their deadline it answers 503, so
// that a supervising gateway replaces the process: the only way to stop them (README.md).
func (e *Engine) health(w http.ResponseWriter, withNames bool) {
	names := e.names()
	now, total := e.Runaway()
	a := healthAnswer{Status: "healthy", Scripts: len(names), ScriptsVersion: e.version.Load(), Protocol: protocolVersion,
		RunawayNow: now, RunawayTotal: total}
	if withNames {
		a.Names = names
	}
	status := http.StatusOK
	if e.opts.MaxRunaway >= 0 && now > int64(e.opts.MaxRunaway) {
		status, a.Status = http.StatusServiceUnavailable, "unhealthy"
		a.Error = strconv.FormatInt(now, 10) + " handlers run past their deadline (at most " + strconv.Itoa(e.opts.MaxRunaway) +
			"): Go cannot stop them, restart the engine"
	}
	send(w, status, a)
}

type reloadAnswer struct {
	Reloaded       bool     `json:"reloaded"`
	ScriptsVersion int64    `json:"scripts_version,omitempty"`
	Scripts        int      `json:"scripts,omitempty"`
	Errors         []string `json:"errors,omitempty"`
}

// reload: POST /reload, the reload hook; 422 with its error, the scripts_version kept.
func (e *Engine) reload(w http.ResponseWriter) {
	version, err := e.Reload()
	if err != nil {
		e.logf("WARNING engine reload rejected: %s", err.Error())
		send(w, http.StatusUnprocessableEntity, reloadAnswer{Errors: []string{err.Error()}})
		return
	}
	n := len(e.names())
	e.logf("INFO engine scripts version %d: %d script(s)", version, n)
	send(w, http.StatusOK, reloadAnswer{Reloaded: true, ScriptsVersion: version, Scripts: n})
}
