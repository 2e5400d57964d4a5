package ld

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

// realAccepts are Accept headers real clients send (origin in the
// comment), used by the tests and as fuzz seeds.
var realAccepts = []string{
	"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",                                                   // Firefox 120
	"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7", // Chrome 120
	"*/*", // curl
	"application/ld+json, application/json;q=0.9, application/javascript;q=0.5, text/javascript;q=0.5, text/plain;q=0.2, */*;q=0.1", // json-gold's loader
	"application/rdf+xml,text/rdf+n3;q=0.9,application/xhtml+xml;q=0.5, */*;q=0.1",                                                  // rdflib 6 URLInputSource
	"text/turtle,application/rdf+xml;q=0.9,application/ld+json;q=0.8,application/n-triples;q=0.7",                                   // a linked data browser
	"application/vnd.citationstyles.csl+json",                                                                                       // citation.js
	"application/x-bibtex;q=1.0, */*;q=0.5",
	"text/html;level=1, text/html;q=0.5, */*;q=0.1", // RFC 9110 §12.5.1 example shape
	"application/ld+json; profile=\"https://schema.org\"",
}

func TestParseAccept(t *testing.T) {
	tests := []struct {
		in   string
		want []MediaRange
	}{
		{"", nil},
		{"text/html", []MediaRange{{Type: "text", Subtype: "html", Q: 1000}}},
		{"Text/HTML;Q=0.5", []MediaRange{{Type: "text", Subtype: "html", Q: 500}}},
		{"text/*;q=0.25, */*;q=0", []MediaRange{{Type: "text", Subtype: "*", Q: 250}, {Type: "*", Subtype: "*", Q: 0}}},
		{`application/ld+json;profile="http://www.w3.org/ns/json-ld#expanded";q=1;ext=x`, []MediaRange{{Type: "application", Subtype: "ld+json", Params: map[string]string{"profile": "http://www.w3.org/ns/json-ld#expanded"}, Q: 1000}}},
		{"text/html;q=1.5, text/plain;q=abc, */html, bad, a/b;q=0.1234, text/turtle", []MediaRange{{Type: "text", Subtype: "turtle", Q: 1000}}},
		{"application/json;q=1.000, text/plain;q=0.", []MediaRange{{Type: "application", Subtype: "json", Q: 1000}, {Type: "text", Subtype: "plain", Q: 0}}},
	}
	for _, tc := range tests {
		if got := ParseAccept(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseAccept(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept []string
		query  string
		want   string // offer name, "" for not acceptable
	}{
		{nil, "", "html"},
		{[]string{realAccepts[0]}, "", "html"},
		{[]string{realAccepts[1]}, "", "html"},
		{[]string{realAccepts[2]}, "", "html"},
		{[]string{realAccepts[3]}, "", "jsonld"},
		{[]string{realAccepts[4]}, "", "rdf"},
		{[]string{realAccepts[5]}, "", "ttl"},
		{[]string{realAccepts[6]}, "", "csl"},
		{[]string{realAccepts[7]}, "", "bibtex"},
		{[]string{realAccepts[8]}, "", "html"},
		{[]string{realAccepts[9]}, "", "jsonld"},
		// Several Accept fields are one list.
		{[]string{"text/turtle;q=0.5", "application/n-triples"}, "", "nt"},
		// Ties go to the client's order.
		{[]string{"application/n-triples, text/turtle"}, "", "nt"},
		// A more specific range decides, whatever its place.
		{[]string{"*/*;q=0.1, text/*;q=0.2, text/turtle;q=0.3"}, "", "ttl"},
		{[]string{"text/turtle;q=0, text/*"}, "", "html"},
		{[]string{"application/xhtml+xml"}, "", "html"},
		{[]string{"text/html;q=0, application/xhtml+xml"}, "", ""},
		{[]string{"application/pdf"}, "", ""},
		{[]string{"*/*;q=0"}, "", ""},
		{[]string{"text/html"}, "format=TTL", "ttl"},
		{nil, "format=turtle", "ttl"},
		{nil, "format=json", "jsonld"},
		{nil, "format=oai_dc", "oai_dc"},
		{nil, "format=pdf", ""},
		{nil, "format=", ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/records/x?"+tc.query, nil)
		for _, a := range tc.accept {
			r.Header.Add("Accept", a)
		}
		got, err := Negotiate(r, RecordOffers)
		switch {
		case tc.want == "" && !errors.Is(err, ErrNotAcceptable):
			t.Errorf("Negotiate(%q, %q) = %s, %v, want not acceptable", tc.accept, tc.query, got.Name, err)
		case tc.want != "" && (err != nil || got.Name != tc.want):
			t.Errorf("Negotiate(%q, %q) = %s, %v, want %s", tc.accept, tc.query, got.Name, err, tc.want)
		}
	}
}

func TestNotModified(t *testing.T) {
	lm := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	v := Validators{ETag: `"abc"`, LastModified: lm}
	tests := []struct {
		method string
		header []string
		want   bool
	}{
		{"GET", nil, false},
		{"GET", []string{"If-None-Match", `"abc"`}, true},
		{"HEAD", []string{"If-None-Match", `W/"abc"`}, true},
		{"GET", []string{"If-None-Match", `"x" , "abc"`}, true},
		{"GET", []string{"If-None-Match", `*`}, true},
		{"GET", []string{"If-None-Match", `"x"`, "If-Modified-Since", lm.Format(http.TimeFormat)}, false},
		{"GET", []string{"If-Modified-Since", lm.Format(http.TimeFormat)}, true},
		{"GET", []string{"If-Modified-Since", lm.Add(-time.Second).Format(http.TimeFormat)}, false},
		{"GET", []string{"If-Modified-Since", "yesterday"}, false},
		{"POST", []string{"If-None-Match", `"abc"`}, false},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, "/", nil)
		for i := 0; i+1 < len(tc.header); i += 2 {
			r.Header.Add(tc.header[i], tc.header[i+1])
		}
		if got := NotModified(r, v); got != tc.want {
			t.Errorf("%s %q: NotModified = %v, want %v", tc.method, tc.header, got, tc.want)
		}
	}
}

// FuzzAccept: any Accept header gives weights within [0, 1000], and
// Negotiate either picks one of the offers or says not acceptable.
func FuzzAccept(f *testing.F) {
	for _, a := range realAccepts {
		f.Add(a, "")
	}
	f.Add("text/turtle;q=0.5;level=1, */*;q=0.001", "ttl")
	f.Fuzz(func(t *testing.T, accept, format string) {
		for _, m := range ParseAccept(accept) {
			if m.Q < 0 || m.Q > 1000 || m.Type == "" || m.Subtype == "" {
				t.Fatalf("ParseAccept(%q): bad range %+v", accept, m)
			}
		}
		r := httptest.NewRequest("GET", "/records/x", nil)
		r.Header.Set("Accept", accept)
		if format != "" {
			q := r.URL.Query()
			q.Set("format", format)
			r.URL.RawQuery = q.Encode()
		}
		o, err := Negotiate(r, RecordOffers)
		if err != nil {
			if !errors.Is(err, ErrNotAcceptable) {
				t.Fatalf("Negotiate(%q): %v", accept, err)
			}
			return
		}
		found := false
		for _, x := range RecordOffers {
			found = found || x.Name == o.Name
		}
		if !found {
			t.Fatalf("Negotiate(%q) = %+v, not an offer", accept, o)
		}
	})
}
