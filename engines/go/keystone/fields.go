package keystone

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// The fields of the protocol's requests, checked with the messages of engine/EngineProtocol.java
// (and the Node.js engine's lib/fields.js): a badRequest names the field, the server answers 400
// with it. Bodies are decoded into generic values (numbers kept as json.Number) so that a wrong
// type is told from a missing field, as the other engines do.

type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func bad(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

type object = map[string]any

// parseObject decodes a request body that must be one JSON object. The whitespace around it is
// dropped first, in a loop far faster than encoding/json's scanner (about 130 MB/s): a body
// padded to 8 MiB would otherwise spend the call's deadline being read.
func parseObject(body []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(bytes.Trim(body, " \t\r\n")))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, bad("the body is not a JSON object: %s", err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("the body is not a JSON object: data after the JSON value")
	}
	o, ok := v.(object)
	if !ok {
		return nil, bad("the body is not a JSON object")
	}
	return o, nil
}

func asObject(v any) (object, bool) {
	o, ok := v.(object)
	return o, ok
}

// required is a non-empty string field.
func required(o object, key string) (string, error) {
	s, ok := o[key].(string)
	if !ok || s == "" {
		return "", bad("%s: required, a non-empty string", key)
	}
	return s, nil
}

// optional is a string field that may be absent or null; present is false then.
func optional(o object, key string) (s string, present bool, err error) {
	switch v := o[key].(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	default:
		return "", false, bad("%s: a string", key)
	}
}

// loose is a field of the original /route format: numbers and booleans are taken as their text.
func loose(o object, key string) (s string, present bool, err error) {
	switch v := o[key].(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case json.Number:
		return v.String(), true, nil
	case bool:
		return strconv.FormatBool(v), true, nil
	default:
		return "", false, bad("%s: a string", key)
	}
}

// listOf is a list field; absent or null is an empty list.
func listOf(o object, key string) ([]any, error) {
	switch v := o[key].(type) {
	case nil:
		return nil, nil
	case []any:
		return v, nil
	default:
		return nil, bad("%s: a list", key)
	}
}

// wholeNumber is v as an integer when it is a JSON integer: 40, not 40.0 or 4e1 (which the Java
// engine's JSON library reads as floating point numbers, and refuses where a whole number is due).
func wholeNumber(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

// headerPairs is a list of [name, value] pairs, two strings each; `field` names it in errors.
func headerPairs(list []any, field string) ([][2]string, error) {
	out := make([][2]string, 0, len(list))
	for _, h := range list {
		pair, ok := h.([]any)
		if ok && len(pair) == 2 {
			name, ok1 := pair[0].(string)
			value, ok2 := pair[1].(string)
			if ok1 && ok2 {
				out = append(out, [2]string{name, value})
				continue
			}
		}
		return nil, bad("%s: each header is [name, value], two strings", field)
	}
	return out, nil
}

const maxInt32 = 1<<31 - 1

// parseBackends reads the backends of a request ({name, url, healthy, weight, labels}), in order,
// checked as the Java engine checks them. The original format's "health" (a check path or a
// status) is lenient: only false or "unhealthy" mean down.
func parseBackends(raw []any) ([]Backend, error) {
	out := make([]Backend, 0, len(raw))
	for _, v := range raw {
		b, ok := asObject(v)
		if !ok {
			return nil, bad("backends: each backend is an object")
		}
		labels := map[string]string{}
		if rawLabels, present := b["labels"]; present && rawLabels != nil {
			lo, ok := asObject(rawLabels)
			if !ok {
				return nil, bad("backends: labels: an object of strings")
			}
			keys := make([]string, 0, len(lo))
			for k := range lo {
				keys = append(keys, k)
			}
			sort.Strings(keys) // the first bad label named is the same every time
			for _, k := range keys {
				s, ok := lo[k].(string)
				if !ok {
					return nil, bad("backends: labels.%s: a string", k)
				}
				labels[k] = s
			}
		}
		weight := int64(1)
		if w, present := b["weight"]; present { // a null weight is not a default
			n, ok := wholeNumber(w)
			if !ok || n < 1 || n > maxInt32 {
				return nil, bad("backends: weight: a whole number of at least 1")
			}
			weight = n
		}
		name, err := required(b, "name")
		if err != nil {
			return nil, err
		}
		url, present, err := optional(b, "url")
		if err != nil {
			return nil, err
		}
		if !present {
			url = "http://127.0.0.1:1"
		}
		var healthy bool
		switch h := b["healthy"].(type) {
		case bool:
			healthy = h
		case nil:
			healthy = b["health"] != false && b["health"] != "unhealthy"
		default:
			return nil, bad("backends: healthy: true or false")
		}
		if err := checkURL(name, url); err != nil {
			return nil, err
		}
		out = append(out, Backend{Name: name, URL: url, Healthy: healthy, Weight: int(weight), Labels: labels})
	}
	return out, nil
}

// checkURL refuses what java.net.URI refuses, so that every engine refuses the same URLs:
// characters that may not appear anywhere, a bad %-escape, and for scheme://authority/... an
// empty authority, an unclosed IPv6 bracket or a port that is not a number.
func checkURL(name, url string) error {
	for i := 0; i < len(url); i++ {
		c := url[i]
		if c <= 0x20 || c == 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0 ||
			c == '%' && (i+2 >= len(url) || !hexDigit(url[i+1]) || !hexDigit(url[i+2])) {
			return bad("backends: %s: Illegal character at index %d: %s", name, i, url)
		}
	}
	scheme := strings.Index(url, "://")
	if scheme <= 0 || !validScheme(url[:scheme]) {
		return nil
	}
	authority := url[scheme+3:]
	if end := strings.IndexAny(authority, "/?#"); end >= 0 {
		authority = authority[:end]
	}
	if authority == "" || !validHostPort(authority) {
		return bad("backends: %s: not a URL (host or port): %s", name, url)
	}
	return nil
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-')) {
			return false
		}
	}
	return s != ""
}

// validHostPort: [userinfo@](host | [v6]) [:digits], as the Node.js engine's HOST_PORT pattern.
func validHostPort(a string) bool {
	if at := strings.IndexByte(a, '@'); at >= 0 {
		a = a[at+1:]
	}
	port := ""
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 2 || strings.Trim(a[1:end], "0123456789abcdefABCDEF:.") != "" {
			return false
		}
		port = a[end+1:]
	} else {
		host := a
		if i := strings.IndexByte(a, ':'); i >= 0 {
			host, port = a[:i], a[i:]
		}
		if strings.ContainsAny(host, "[]") {
			return false
		}
	}
	return port == "" || port[0] == ':' && strings.Trim(port[1:], "0123456789") == ""
}
