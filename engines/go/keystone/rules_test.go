package keystone

import (
	"strings"
	"testing"
)

// The edit rules refuse what the gateway refuses, with the other engines' messages.
func TestHeaderRules(t *testing.T) {
	for name, want := range map[string]string{
		"X-Client":                      "",
		"content-LENGTH":                "header content-LENGTH is managed by the gateway",
		"Transfer-Encoding":             "is managed by the gateway",
		"Bad Name":                      "not a header name",
		"X-{bad}":                       "not a header name",
		"":                              "not a header name",
		"X-" + strings.Repeat("n", 300): "a header name of 302 bytes is longer than 256",
	} {
		if got := nameProblem(name); want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("nameProblem(%q) = %q, want %q", name, got, want)
		}
	}
	for value, want := range map[string]string{
		"ok\tvalue":               "",
		"a\r\nX-Evil: 1":          "(found 0xd)",
		"a\x00b":                  "(found 0x0)",
		"a\x7f":                   "(found 0x7f)",
		"\x01":                    "must not contain control characters (found 0x1)",
		strings.Repeat("v", 9000): "a header value of 9000 bytes is longer than 8192",
	} {
		if got := valueProblem(value); want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("valueProblem(%q) = %q, want %q", value, got, want)
		}
	}
	if headersProblem(100, 64*1024) != "" || headersProblem(101, 0) == "" || headersProblem(1, 64*1024+1) == "" {
		t.Error("headersProblem: at most 100 headers and 64 KiB")
	}
}

// A path must not leave the service's base path, however a backend decodes it (the hostile
// group's path checks, which the suite runs only for engines that run its hostile script).
func TestPathRules(t *testing.T) {
	const dots = "'.' or '..' segments"
	for path, want := range map[string]string{
		"/v2/orders":                    "",
		"/a%20b/c%2Fd":                  "",
		"/a.b/.c/..d":                   "",
		"no-slash":                      "must start with '/'",
		"/a b":                          "only the characters of a URI",
		"/a?b=1":                        "only the characters of a URI",
		"/a#frag":                       "only the characters of a URI",
		"/caf\u00e9":                    "only the characters of a URI",
		"/a%zz":                         "not followed by two hex digits",
		"/" + strings.Repeat("a", 9000): "longer than 8192",
		"/../../x":                      dots,
		"/a/./b":                        dots,
		"/a/..":                         dots,
		"/%2e%2e/x":                     dots,
		"/%252e%252e/x":                 dots, // encoded twice
		"/%25%32%65%25%32%65/x":         dots, // each character encoded, then the '%' again
		"/..%3b/x":                      dots, // Tomcat reads /..;/x as /../x
		"/..;jsessionid=1/x":            dots,
		"/%c0%ae%c0%ae/x":               dots, // overlong UTF-8
		"/%ef%bc%8e%ef%bc%8e/x":         dots, // fullwidth full stops
		"/%e2%80%a5/x":                  dots, // U+2025 two dot leader: ".." in compatibility form
		"/..%5cx":                       dots, // a backslash is a slash to some backends
		"/.. /x":                        "only the characters of a URI",
		"/..%20/x":                      dots, // trailing spaces dropped, as Windows does
		"/a/%2500/x":                    "control characters",
		"/a/%0a/x":                      "control characters",
		"/a/%c2%85/x":                   "control characters", // C1 (NEL)
	} {
		if got := pathProblem(path); want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("pathProblem(%q) = %q, want %q", path, got, want)
		}
	}
	for query, want := range map[string]string{
		"page=2&q=a%20b":                 "",
		"a=1#frag":                       "with no '#'",
		"a=<x>":                          "characters of a URI",
		"a=%4":                           "two hex digits",
		"a=" + strings.Repeat("q", 9000): "longer than 8192",
	} {
		if got := queryProblem(query); want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("queryProblem(%q) = %q, want %q", query, got, want)
		}
	}
}

// body_base64 is read as java.util.Base64 reads it, with its messages.
func TestBase64(t *testing.T) {
	for text, want := range map[string]string{"": "", "AP8": "\x00\xff", "AP8=": "\x00\xff", "QUJDRA==": "ABCD", "QUJDRA": "ABCD"} {
		got, err := decodeBase64(text)
		if err != nil || string(got) != want {
			t.Errorf("decodeBase64(%q) = %q, %v; want %q", text, got, err, want)
		}
	}
	for text, want := range map[string]string{
		"not base64!": "Illegal base64 character 20",
		"QUJD\n":      "Illegal base64 character a",
		"QUJDRA=":     "Input byte array has wrong 4-byte ending unit",
		"Q":           "Input byte[] should at least have 2 bytes for base64 bytes",
		"QUJDR":       "Last unit does not have enough valid bits",
		"QQ==QQ":      "Input byte array has incorrect ending byte at 4",
	} {
		if _, err := decodeBase64(text); err == nil || err.Error() != want {
			t.Errorf("decodeBase64(%q): error %v, want %q", text, err, want)
		}
	}
}

func TestBackendURLs(t *testing.T) {
	for url, ok := range map[string]bool{
		"http://10.0.0.5:8080": true, "https://10.0.0.10:8443/base": true, "http://[::1]:80/x": true, "unix:/x": true,
		"http://bad host:80": false, "http://h:8x": false, "http:///x": false, "http://[::1:80": false, "http://h/%zz": false,
	} {
		if err := checkURL("b", url); (err == nil) != ok {
			t.Errorf("checkURL(%q) = %v, want ok=%v", url, err, ok)
		}
	}
}

// Hash is FNV-1a (32 bit) masked to 31 bits: the published test vectors.
func TestHash(t *testing.T) {
	for s, want := range map[string]uint32{"": 0x811c9dc5, "a": 0xe40c292c, "foobar": 0xbf9cf968} {
		if got := Hash(s); got != int(want&0x7fffffff) {
			t.Errorf("Hash(%q) = %d, want %d", s, got, want&0x7fffffff)
		}
	}
}

func TestLogText(t *testing.T) {
	got := shortText("said \"hi\" c:\\x\nSEVERE forged\x01\u0085", 2000)
	if want := `said \"hi\" c:\\x\nSEVERE forged\x01\u0085`; got != want {
		t.Errorf("shortText: %s, want %s", got, want)
	}
	if got := shortText(strings.Repeat("é", 2100), 2000); got != strings.Repeat("é", 2000)+"..." {
		t.Errorf("shortText of 2,100 characters: %d bytes", len(got))
	}
}
