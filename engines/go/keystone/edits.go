package keystone

import (
	"bytes"
	"encoding/json"
)

// headerEdits are the header edits of one call in the order they were made (a name set again
// keeps its first place, as the Java engine's LinkedHashMap does), written as a JSON object in
// that order, a removal as null: the answers then match the reference engine's byte for byte.
type headerEdits struct {
	names  []string
	values map[string]*string
}

func (h *headerEdits) set(name string, value *string) {
	if h.values == nil {
		h.values = map[string]*string{}
	}
	if _, seen := h.values[name]; !seen {
		h.names = append(h.names, name)
	}
	h.values[name] = value
}

func (h *headerEdits) empty() bool { return len(h.names) == 0 }

func (h *headerEdits) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range h.names {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, name)
		b.WriteByte(':')
		if v := h.values[name]; v == nil {
			b.WriteString("null")
		} else {
			writeJSONString(&b, *v)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeJSONString writes s as a JSON string, HTML characters unescaped (as send writes answers).
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)           //nolint:errcheck // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}
