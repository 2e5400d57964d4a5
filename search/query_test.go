package search

import (
	"errors"
	"testing"
)

func TestParseQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "*"},
		{"   ", "*"},
		{"glacier", "glacier"},
		{"glacier melt", "(glacier AND melt)"},
		{`"mass balance"`, `"mass balance"`},
		{`title:glacier`, "title:glacier"},
		{`Title:"mass balance"`, `title:"mass balance"`},
		{"a OR b", "(a OR b)"},
		{"a b OR c", "((a AND b) OR c)"},
		{"a AND b", "(a AND b)"},
		{"a AND (b OR c)", "(a AND (b OR c))"},
		{"NOT a", "NOT a"},
		{"a -b", "(a AND NOT b)"},
		{"a +b", "(a AND b)"},
		{"high-resolution", "high-resolution"},
		{"year:2010..2020", "year:2010..2020"},
		{"year:2010..", "year:2010.."},
		{"year:..2020", "year:..2020"},
		{"year:2015", "year:2015..2015"},
		{"doi:10.1234/ABC", "doi:10.1234/ABC"},
		{"title:(glacier OR ice)", "(title:glacier OR title:ice)"},
		{"urn:nbn:de:101:1-2020", `"urn:nbn:de:101:1-2020"`},
		{"https://doi.org/10.1234/x", `"https://doi.org/10.1234/x"`},
		{"author:Müller", "creator:Müller"},
		{"licence:cc-by-4.0", "license:cc-by-4.0"},
		{"type:Dataset language:en", "(type:Dataset AND language:en)"},
		{"a (b c) d", "(a AND b AND c AND d)"},
		{"a OR (b OR c)", "(a OR b OR c)"},
		{"“smart quotes”", `"smart quotes"`},
		{"-a", "NOT a"},
		{"a && b || c", "((a AND b) OR c)"},
	}
	for _, tc := range tests {
		q, err := ParseQuery(tc.in)
		if err != nil {
			t.Errorf("ParseQuery(%q) error: %v", tc.in, err)
			continue
		}
		if got := q.String(); got != tc.want {
			t.Errorf("ParseQuery(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		in  string
		pos int
	}{
		{`"unclosed`, 0},
		{`glacier "unclosed`, 8},
		{`(a b`, 0},
		{`a b)`, 3},
		{`a AND`, 2},
		{`AND a`, 0},
		{`a OR`, 2},
		{`a OR OR b`, 2},
		{`NOT`, 0},
		{`titel:glacier`, 0},
		{`title:`, 6},
		{`title: glacier`, 6},
		{`year:20x0`, 5},
		{`year:2020..2010`, 5},
		{`year:..`, 5},
		{`year:2010..abc`, 11},
		{`a ()`, 3},
		{`ä "x`, 2},
		{`""`, 0},
		{`title:(a title:b)`, 9},
		{`---`, 1},
		{"\xff", 0},
	}
	for _, tc := range tests {
		_, err := ParseQuery(tc.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseQuery(%q) = %v, want a *ParseError", tc.in, err)
			continue
		}
		if pe.Pos != tc.pos {
			t.Errorf("ParseQuery(%q) error at %d (%s), want at %d", tc.in, pe.Pos, pe.Msg, tc.pos)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "glacier melt", `"mass balance" -ice`, "title:(a OR b) AND year:2010..2020",
		"doi:10.1234/ABC", "urn:nbn:de:1", `a OR (b "c d") NOT e`, "((((a))))", "year:..2020", `author:"Müller, J"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseQuery(%q) error %v is not a *ParseError", s, err)
			}
			if pe.Pos < 0 || pe.Pos > len([]rune(s)) {
				t.Fatalf("ParseQuery(%q) error at %d, outside the query", s, pe.Pos)
			}
			return
		}
		// The canonical form parses to itself.
		c := q.String()
		if c == "*" {
			return
		}
		q2, err := ParseQuery(c)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", c, s, err)
		}
		if q2.String() != c {
			t.Fatalf("canonical form of %q is %q, which parses to %q", s, c, q2.String())
		}
	})
}
