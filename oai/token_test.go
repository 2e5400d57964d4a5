package oai

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
	"time"
)

func TestTokenRoundTrip(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, tok := range []token{
		{verb: verbByteRecords, issued: 1710495000, after: 500, maxSeq: 1_000_000, cursor: 500, prefix: "oai_dc"},
		{verb: verbByteIdentifiers, issued: 1710495000, after: 0, maxSeq: 7, prefix: "marcxml", set: "source:cds.cern.ch",
			from: time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC), until: time.Date(2024, 3, 15, 23, 59, 59, 0, time.UTC)},
		{verb: verbByteSets, issued: 1, set: "a:b", cursor: 100},
	} {
		s := tok.encode(key)
		if !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(s) {
			t.Errorf("token %q is not URL-safe", s)
		}
		got, err := decodeToken(s, key)
		if err != nil {
			t.Fatalf("decode(%q): %v", s, err)
		}
		if !reflect.DeepEqual(*got, tok) {
			t.Errorf("decode(encode(%+v)) = %+v", tok, *got)
		}
		if _, err := decodeToken(s, []byte("another key")); err == nil {
			t.Errorf("token %q accepted under another key", s)
		}
	}
}

// realTokens are resumption tokens real repositories issued (from the
// responses in oaixml/testdata/real, origins in its README): none of them
// must be taken for one of ours.
var realTokensRe = regexp.MustCompile(`<resumptionToken[^>]*>([^<]+)</resumptionToken>`)

func realTokens(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("oaixml/testdata/real/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no real responses: %v", err)
	}
	var toks []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range realTokensRe.FindAllSubmatch(b, -1) {
			toks = append(toks, string(m[1]))
		}
	}
	return toks
}

// FuzzResumptionToken feeds the decoder what harvesters may send: real
// tokens of other repositories, our own, and mutations of them. Unsigned
// input must be refused; signed input (the fuzzer's bytes, signed here, to
// reach the parser) must decode to a token that encodes and decodes to
// itself, or be refused, and never panic.
func FuzzResumptionToken(f *testing.F) {
	key := []byte("fuzzing key, thirty-two bytes...")
	for _, s := range realTokens(f) {
		f.Add(s)
	}
	for _, tok := range []token{
		{verb: verbByteRecords, issued: 1710495000, after: 500, maxSeq: 1000, cursor: 500, prefix: "oai_dc", set: "a:b", from: time.Unix(0, 0), until: time.Unix(1e9, 0)},
		{verb: verbByteSets, issued: 1710495000, set: "x"},
	} {
		s := tok.encode(key)
		f.Add(s)
		b, _ := base64.RawURLEncoding.DecodeString(s)
		f.Add(string(b[:len(b)-macSize]))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := decodeToken(s, key); err == nil {
			// Only our own seeds are valid as they are.
			return
		}
		// Sign the bytes as they are, so the fuzzer explores the layout.
		body := []byte(s)
		signed := base64.RawURLEncoding.EncodeToString(append(body, sign(key, body)...))
		tok, err := decodeToken(signed, key)
		if err != nil {
			return
		}
		again, err := decodeToken(tok.encode(key), key)
		if err != nil {
			t.Fatalf("re-encoded token %+v does not decode: %v", tok, err)
		}
		if !reflect.DeepEqual(again, tok) {
			t.Fatalf("token %+v re-encoded decodes to %+v", tok, again)
		}
	})
}

func TestRealTokensRefused(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	toks := realTokens(t)
	if len(toks) < 5 {
		t.Fatalf("only %d real tokens", len(toks))
	}
	for _, s := range toks {
		if _, err := decodeToken(s, key); err == nil {
			t.Errorf("real token %q accepted", s)
		}
	}
}
