package ld

import (
	"encoding/hex"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	jsonld "github.com/piprate/json-gold/ld"
)

// IRI returns s as an absolute IRI that every RDF syntax can carry: the
// characters an IRI reference may not contain (space, controls, <>"{}|\^`)
// are percent-encoded. ok is false when s is not absolute, or is an http(s)
// URL that RDF processors (json-gold among them) would reject and drop.
func IRI(s string) (string, bool) {
	s = strings.TrimSpace(s)
	colon := strings.IndexByte(s, ':')
	if colon < 1 {
		return "", false
	}
	for i := 0; i < colon; i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", false
		}
	}
	if colon == len(s)-1 {
		return "", false
	}
	if strings.ContainsAny(s, " <>\"{}|\\^`\x7f") || hasControl(s) {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c <= ' ' || c == 0x7f || strings.IndexByte("<>\"{}|\\^`", c) >= 0 {
				b.WriteString("%")
				b.WriteString(strings.ToUpper(hex.EncodeToString([]byte{c})))
				continue
			}
			b.WriteByte(c)
		}
		s = b.String()
	}
	if iriBits(s) != iriAbsolute|iriValid {
		return "", false
	}
	return s, true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' {
			return true
		}
	}
	return false
}

const (
	// iriAbsolute: json-gold's IsAbsoluteIri, url.Parse accepts it and it
	// has a scheme.
	iriAbsolute = 1 << iota
	// iriValid: json-gold's validIRI, http and https IRIs must pass the
	// govalidator URL check (jsonld.IsURL), or RDF processors that use it
	// drop the statement.
	iriValid
)

// iriBits answers both questions with one parse.
func iriBits(s string) uint8 {
	u, err := url.Parse(s)
	var bits uint8
	if err == nil && u.IsAbs() {
		bits |= iriAbsolute
	}
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") || isParsedURL(s, u, err) {
		bits |= iriValid
	}
	return bits
}

// isURL answers as jsonld.IsURL does, without running its regular
// expression over every URL. The expression is
// ^scheme? userinfo? host port? path?$, and neither host nor port can
// contain '/', '?' or '#', with which path must begin; so for a URL
// without userinfo it matches exactly when it matches
// scheme://host[:port] and the path has no white space. The verdict on
// scheme://host[:port] is remembered: records name few hosts, many times.
// A test and FuzzIsURL check that isURL and jsonld.IsURL agree.
func isURL(s string) bool {
	u, err := url.Parse(s)
	return isParsedURL(s, u, err)
}

// isParsedURL is isURL given url.Parse(s).
func isParsedURL(s string, u *url.URL, err error) bool {
	if s == "" || len(s) <= 3 || strings.HasPrefix(s, ".") || utf8.RuneCountInString(s) >= 2083 {
		return false
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return jsonld.IsURL(s)
	}
	end := strings.IndexAny(rest, "/?#")
	authority, path := rest, ""
	if end >= 0 {
		authority, path = rest[:end], rest[end:]
	}
	if strings.Contains(authority, "@") || strings.ContainsAny(path, " \t\n\f\r") {
		return jsonld.IsURL(s)
	}
	if err != nil || strings.HasPrefix(u.Host, ".") || u.Host == "" && u.Path != "" && !strings.Contains(u.Path, ".") {
		return false
	}
	key := scheme + "://" + authority
	if v, ok := hostVerdicts.Load(key); ok {
		return v.(bool)
	}
	v := jsonld.IsURL(key)
	if hostVerdictCount.Load() < maxHostVerdicts {
		if _, loaded := hostVerdicts.LoadOrStore(key, v); !loaded {
			hostVerdictCount.Add(1)
		}
	}
	return v
}

// hostVerdicts memoizes jsonld.IsURL on scheme://host[:port], a pure
// function: bounded, it changes nothing but time.
var (
	hostVerdicts     sync.Map
	hostVerdictCount atomic.Int64
)

const maxHostVerdicts = 4096
