package keystone

import (
	"strings"
	"unicode/utf8"
)

// leavesBase is whether a path, read as any backend may read it, holds a control character or a
// '.' or '..' segment (EditRules.leavesBase in Java, sandbox/rules.js in the Node.js engine): read
// as sent and percent-decoded again and again (up to four times), each reading taken as lax UTF-8
// (overlong forms count) in Unicode compatibility form (fullwidth dots and slashes count), with
// '\' as '/', and a segment ending at ';' (Tomcat reads /..;/x as /../x), '?' or '#'. Otherwise a
// set_path could leave the service URL's base path on a backend that decodes the whole target.
func leavesBase(p string) bool {
	current := p
	for round := 0; round < 5; round++ {
		current = compatibilityForm(current) // a fullwidth '％' then "2e" is "%2e" to the next reading
		view := strings.ReplaceAll(current, "\\", "/")
		if round > 0 {
			for _, r := range view {
				if r < 0x20 || r >= 0x7f && r <= 0x9f {
					return true // C0, DEL, C1
				}
			}
		}
		for _, seg := range strings.Split(view, "/") {
			if end := strings.IndexAny(seg, ";?#"); end >= 0 {
				seg = seg[:end]
			}
			seg = strings.TrimRight(seg, " \t") // trailing spaces dropped, as Windows does
			if seg == "." || seg == ".." {
				return true
			}
		}
		next := percentDecoded(current)
		if next == current {
			return false
		}
		current = next
	}
	return true // still changing after five readings: encoded deeper than any backend decodes
}

// compatibilityForm is s in NFKC as far as the path check can tell: the characters whose
// compatibility form holds one of . / \ ; ? # space tab % or a hex digit are replaced by that form
// (nfkc_table.go); the others cannot make a dot segment or an escape and are kept.
func compatibilityForm(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if m, ok := nfkcToASCII[r]; ok {
			b.WriteString(m)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hexValue(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return (c | 0x20) - 'a' + 10
}

// percentDecoded is s with each well-formed %XX as its byte (other characters as their UTF-8
// bytes, anything not ASCII as U+FFFD as the other engines do), read as lax UTF-8.
func percentDecoded(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	bytes := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && hexDigit(s[i+1]) && hexDigit(s[i+2]):
			bytes = append(bytes, hexValue(s[i+1])<<4|hexValue(s[i+2]))
			i += 2
		case c < 0x80:
			bytes = append(bytes, c)
		default: // a non-ASCII character decoded by an earlier reading
			_, size := utf8.DecodeRuneInString(s[i:])
			bytes = append(bytes, 0xef, 0xbf, 0xbd)
			i += size - 1
		}
	}
	return laxUTF8(bytes)
}

// laxUTF8 reads bytes as UTF-8 the way a lenient decoder does: overlong forms (%c0%ae is '.')
// and 5- and 6-byte forms are read too; what cannot be read is U+FFFD.
func laxUTF8(bytes []byte) string {
	var out strings.Builder
	for i := 0; i < len(bytes); {
		lead := bytes[i]
		n := -1
		switch {
		case lead < 0x80:
			n = 0
		case lead < 0xc0:
			n = -1
		case lead < 0xe0:
			n = 1
		case lead < 0xf0:
			n = 2
		case lead < 0xf8:
			n = 3
		case lead < 0xfc:
			n = 4
		case lead < 0xfe:
			n = 5
		}
		cp := rune(lead)
		if n > 0 {
			cp = rune(lead & (0x3f >> n))
		}
		ok := n >= 0 && i+n < len(bytes)
		for k := 1; ok && k <= n; k++ {
			if bytes[i+k]&0xc0 != 0x80 {
				ok = false
			} else {
				cp = cp<<6 | rune(bytes[i+k]&0x3f)
			}
		}
		if !ok || cp > 0x10ffff || cp >= 0xd800 && cp <= 0xdfff {
			out.WriteRune(utf8.RuneError)
			i++
		} else {
			out.WriteRune(cp)
			i += n + 1
		}
	}
	return out.String()
}
