package jsonstr

// The hand-written encoders of the store (record documents, whose bytes
// are hashed) and of package ld (JSON-LD) share this escaping, which must
// not drift from encoding/json's.

import "unicode/utf8"

// safe and safeHTML tell which ASCII bytes encoding/json writes unescaped:
// all but the control characters, '"' and '\\', and, when it escapes HTML
// (json.Marshal, json.Encoder by default), '<', '>' and '&'. Bytes from
// 0x80 are false: they start multi-byte UTF-8 sequences.
var safe, safeHTML = func() (t, h [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c], h[c] = true, true
	}
	t['"'], t['\\'] = false, false
	h['"'], h['\\'], h['<'], h['>'], h['&'] = false, false, false, false, false
	return t, h
}()

const hexDigits = "0123456789abcdef"

// Append appends s to b as a JSON string as encoding/json writes it: '"'
// and '\\' escaped with a backslash, \b \f \n \r \t, other control
// characters as \u00xx, with escapeHTML '<', '>' and '&' as \u00xx too,
// U+2028 and U+2029 as \u2028 and \u2029, and each byte of invalid UTF-8
// as \ufffd.
func Append(b []byte, s string, escapeHTML bool) []byte {
	ok := &safe
	if escapeHTML {
		ok = &safeHTML
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if ok[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
