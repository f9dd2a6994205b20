package keystone_test

import (
	"strconv"
	"strings"
	"testing"

	"keystone.dev/engine/keystone"
)

// Log: one line per call of it, the text quoted and escaped, at most 20 a call, then one line
// saying the rest were dropped.
func TestLog(t *testing.T) {
	f := newFixture(t, keystone.Options{}, map[string]keystone.Script{"l": {OnRequest: func(req *keystone.Request) keystone.Decision {
		if req.Header("X-Case") == "many" {
			for i := 1; i <= 50; i++ {
				req.Log("line", i)
			}
			return keystone.Continue()
		}
		req.Log("said \"hi\" c:\\x\nSEVERE forged request_id=x")
		return keystone.Continue()
	}}})
	f.post("/v1/decide", decideBody("l", nil, map[string]any{"request_id": "r-1"}, nil))
	want := `INFO script tenant=shop request_id=r-1 log="said \"hi\" c:\\x\nSEVERE forged request_id=x"` + "\n"
	if !strings.HasSuffix(f.log.String(), want) || strings.Count(f.log.String(), "\n") != 1 {
		t.Errorf("log: %q, want a line ending %q", f.log.String(), want)
	}
	f.post("/v1/decide", decideBody("l", [][2]string{{"X-Case", "many"}}, map[string]any{"request_id": "r-2"}, nil))
	lines := strings.Split(strings.TrimSpace(f.log.String()), "\n")[1:]
	if len(lines) != 21 || !strings.HasSuffix(lines[19], `log="line 20"`) ||
		!strings.HasSuffix(lines[20], `log="(further log lines of this call dropped: at most 20 a call)"`) {
		t.Errorf("50 lines logged: %d written, %q", len(lines), lines[len(lines)-1])
	}
	// 100 a second per tenant, with a burst of 200: 15 calls of 20 lines write about 200.
	for i := 0; i < 15; i++ {
		f.post("/v1/decide", decideBody("l", [][2]string{{"X-Case", "many"}}, map[string]any{"request_id": "b-" + strconv.Itoa(i)}, nil))
	}
	if n := strings.Count(f.log.String(), "request_id=b-"); n < 170 || n > 230 {
		t.Errorf("%d lines of 315 written: the burst is 200 (the first call took 22 of it)", n)
	}
}
