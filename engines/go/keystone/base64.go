package keystone

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
)

// request.body_base64 is decoded strictly, as java.util.Base64.getDecoder() decodes it, so that
// every engine accepts and refuses the same bodies with the same messages: the basic alphabet, no
// whitespace (Go's decoders skip line breaks), padding optional but complete when present.

var validBase64 = regexp.MustCompile(`^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$`)

// decodeBase64 is the bytes of text, or an error with java.util.Base64's message.
func decodeBase64(text string) ([]byte, error) {
	if !validBase64.MatchString(text) {
		return nil, javaBase64Error(text)
	}
	return base64.RawStdEncoding.DecodeString(trimPadding(text))
}

func trimPadding(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

var base64Value = func() [256]int8 {
	var v [256]int8
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(base64Alphabet); i++ {
		v[base64Alphabet[i]] = int8(i)
	}
	v['='] = -2
	return v
}()

// javaBase64Error walks text as java.util.Base64.Decoder.decode does, for the message it gives
// on the first problem (only called for a text the strict pattern refused).
func javaBase64Error(text string) error {
	// Java decodes the string's ISO-8859-1 bytes: a character above U+00FF becomes '?'.
	src := make([]byte, 0, len(text))
	for _, r := range text {
		if r > 0xff {
			r = '?'
		}
		src = append(src, byte(r))
	}
	if len(src) < 2 {
		return errors.New("Input byte[] should at least have 2 bytes for base64 bytes")
	}
	shift, sp := 18, 0
	for sp < len(src) {
		b := base64Value[src[sp]]
		sp++
		if b == -2 { // '=' ends the data
			if shift == 6 && (sp == len(src) || src[sp] != '=') || shift == 18 {
				return errors.New("Input byte array has wrong 4-byte ending unit")
			}
			if shift == 6 {
				sp++
			}
			break
		}
		if b < 0 {
			return fmt.Errorf("Illegal base64 character %x", int8(src[sp-1]))
		}
		shift -= 6
		if shift < 0 {
			shift = 18
		}
	}
	if shift == 12 {
		return errors.New("Last unit does not have enough valid bits")
	}
	if sp < len(src) {
		return fmt.Errorf("Input byte array has incorrect ending byte at %d", sp)
	}
	return errors.New("not base64") // not reached for a text the pattern refused
}
