package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
)

var seeds = []string{"", "a<b>&c", "\x00\x1f\x7f\u2028\u2029\xff", `"\`, "Séan", "\b\f\n\r\t", "plain ascii text", "\xe2\x80"}

func TestAppend(t *testing.T) {
	for _, s := range seeds {
		check(t, s)
	}
}

// FuzzAppend compares Append with encoding/json, with and without HTML
// escaping.
func FuzzAppend(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(check)
}

func check(t *testing.T, s string) {
	for _, escapeHTML := range []bool{true, false} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(escapeHTML)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		w := bytes.TrimSuffix(want.Bytes(), []byte("\n"))
		if got := Append([]byte("x"), s, escapeHTML); string(got) != "x"+string(w) {
			t.Errorf("Append(%q, escapeHTML %v) = %s, encoding/json %s", s, escapeHTML, got[1:], w)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	s := "We report multi-scale experiment and growth climate across 139 sites. We report statistical microbial and theory reconstruction across 27 sites. Données, Zürich: «ok»."
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = Append(buf[:0], s, true)
	}
}
