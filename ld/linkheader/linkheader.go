// Package linkheader reads and writes HTTP Link header fields (RFC 8288,
// Web Linking), including the application/linkset format of RFC 9264
// §4.1, which is the same syntax with line breaks between links.
//
// Parse is strict about structure (every link starts with <target>, every
// parameter has a name) and lenient where real servers are sloppy: unquoted
// parameter values that are not tokens (rel=cite-as, type=text/html,
// rel=http://schema.org/Dataset), white space and line breaks anywhere
// white space may stand, and empty list elements. Parameter names are
// case-insensitive and returned in lower case; rel, anchor, type, media,
// title and title* keep their first occurrence only, as RFC 8288 §3.3 and
// §3.4.1 require of parsers. title* (RFC 8187 ext-value) is decoded.
//
// Format writes links in a form every parser reads: targets as URIs
// (non-ASCII and characters a URI cannot hold are percent-encoded) and
// every parameter value quoted.
package linkheader

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Link is one link: a target and its parameters.
type Link struct {
	// Target is the target URI reference, as written (not resolved).
	Target string
	// Rel is the rel parameter: relation types separated by spaces.
	Rel string
	// Anchor is the anchor parameter (the link context), or empty.
	Anchor string
	// Type is the type parameter (the target's media type hint), or empty.
	Type string
	// Params are the other parameters in order of appearance, names in
	// lower case. A parameter without a value has Value "".
	Params []Param
}

// Param is a link parameter other than rel, anchor and type.
type Param struct {
	Name, Value string
}

// Rels returns the relation types of the link: registered types in lower
// case (they are case-insensitive), extension types (URIs) as written.
func (l Link) Rels() []string {
	f := strings.Fields(l.Rel)
	for i, r := range f {
		if !strings.Contains(r, ":") {
			f[i] = strings.ToLower(r)
		}
	}
	return f
}

// HasRel reports whether rel is one of the link's relation types.
func (l Link) HasRel(rel string) bool {
	for _, r := range l.Rels() {
		if r == rel || strings.EqualFold(r, rel) && !strings.Contains(rel, ":") {
			return true
		}
	}
	return false
}

// Param returns the value of the first parameter called name (case
// insensitive) and whether there is one. It knows rel, anchor and type
// too.
func (l Link) Param(name string) (string, bool) {
	switch name = strings.ToLower(name); name {
	case "rel":
		return l.Rel, l.Rel != ""
	case "anchor":
		return l.Anchor, l.Anchor != ""
	case "type":
		return l.Type, l.Type != ""
	}
	for _, p := range l.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// Resolve returns the target resolved against base (RFC 8288 §3.1: the
// target is resolved against the request URI).
func (l Link) Resolve(base *url.URL) (*url.URL, error) {
	u, err := url.Parse(l.Target)
	if err != nil {
		return nil, err
	}
	if base == nil {
		return u, nil
	}
	return base.ResolveReference(u), nil
}

// SyntaxError is a malformed Link header field.
type SyntaxError struct {
	// Offset is the byte offset in the input where parsing failed.
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("linkheader: at byte %d: %s", e.Offset, e.Msg)
}

// Parse reads one or more Link header field values. Several values (the
// field given several times) are read as one comma-separated list, which
// is what RFC 9110 §5.3 says they mean.
func Parse(values ...string) ([]Link, error) {
	var out []Link
	for _, v := range values {
		p := parser{s: v}
		links, err := p.links()
		if err != nil {
			return nil, err
		}
		out = append(out, links...)
	}
	return out, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) fail(format string, args ...any) error {
	return &SyntaxError{Offset: p.i, Msg: fmt.Sprintf(format, args...)}
}

// ws skips white space, line breaks included.
func (p *parser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) links() ([]Link, error) {
	var out []Link
	for {
		// Empty list elements are allowed (RFC 9110 §5.6.1).
		for {
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			break
		}
		if p.i == len(p.s) {
			return out, nil
		}
		l, err := p.link()
		if err != nil {
			return nil, err
		}
		out = append(out, l)
		p.ws()
		if p.i == len(p.s) {
			return out, nil
		}
		if p.s[p.i] != ',' {
			return nil, p.fail("expected ',' or end after a link, found %q", p.s[p.i])
		}
	}
}

func (p *parser) link() (Link, error) {
	var l Link
	if p.s[p.i] != '<' {
		return l, p.fail("expected '<' to start a link, found %q", p.s[p.i])
	}
	end := strings.IndexByte(p.s[p.i+1:], '>')
	if end < 0 {
		return l, p.fail("no '>' closes the link target")
	}
	l.Target = strings.TrimSpace(p.s[p.i+1 : p.i+1+end])
	if strings.ContainsAny(l.Target, "<") {
		return l, p.fail("link target contains '<'")
	}
	p.i += end + 2
	seen := map[string]bool{}
	for {
		p.ws()
		if p.i == len(p.s) || p.s[p.i] != ';' {
			return l, nil
		}
		p.i++
		p.ws()
		if p.i == len(p.s) || p.s[p.i] == ',' {
			// A trailing ';' with nothing after it.
			return l, nil
		}
		if p.s[p.i] == ';' {
			continue
		}
		start := p.i
		for p.i < len(p.s) && isTChar(p.s[p.i]) {
			p.i++
		}
		if p.i == start {
			return l, p.fail("expected a parameter name, found %q", p.s[p.i])
		}
		name := strings.ToLower(p.s[start:p.i])
		p.ws()
		var value string
		if p.i < len(p.s) && p.s[p.i] == '=' {
			p.i++
			p.ws()
			v, err := p.value()
			if err != nil {
				return l, err
			}
			value = v
		}
		if name == "title*" {
			if v, ok := decodeExtValue(value); ok {
				value = v
			}
		}
		switch name {
		case "rel", "anchor", "type", "media", "title", "title*":
			if seen[name] {
				continue
			}
			seen[name] = true
		}
		switch name {
		case "rel":
			l.Rel = strings.Join(strings.Fields(value), " ")
		case "anchor":
			l.Anchor = value
		case "type":
			l.Type = value
		default:
			l.Params = append(l.Params, Param{Name: name, Value: value})
		}
	}
}

func (p *parser) value() (string, error) {
	if p.i == len(p.s) {
		return "", nil
	}
	if p.s[p.i] == '"' {
		var b strings.Builder
		p.i++
		for p.i < len(p.s) {
			c := p.s[p.i]
			switch c {
			case '\\':
				if p.i+1 == len(p.s) {
					return "", p.fail("quoted string ends in a backslash")
				}
				b.WriteByte(p.s[p.i+1])
				p.i += 2
			case '"':
				p.i++
				return b.String(), nil
			default:
				b.WriteByte(c)
				p.i++
			}
		}
		return "", p.fail("quoted string is not closed")
	}
	// A token, or, leniently, anything up to the next delimiter.
	start := p.i
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ';', ',', ' ', '\t', '\r', '\n':
			return p.s[start:p.i], nil
		case '"', '<', '>':
			return "", p.fail("unexpected %q in an unquoted parameter value", p.s[p.i])
		}
		p.i++
	}
	return p.s[start:], nil
}

// isTChar: RFC 9110 §5.6.2 tchar.
func isTChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// decodeExtValue decodes an RFC 8187 ext-value: charset'language'pct-value.
func decodeExtValue(s string) (string, bool) {
	charset, rest, ok := strings.Cut(s, "'")
	if !ok {
		return "", false
	}
	_, enc, ok := strings.Cut(rest, "'")
	if !ok {
		return "", false
	}
	v, err := url.PathUnescape(enc)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(charset) {
	case "utf-8":
		if !utf8.ValidString(v) {
			return "", false
		}
		return v, true
	case "iso-8859-1":
		r := make([]rune, len(v))
		for i := 0; i < len(v); i++ {
			r[i] = rune(v[i])
		}
		return string(r), true
	}
	return "", false
}

// Format writes links as one Link header field value, separated by ", ".
func Format(links []Link) string {
	var b strings.Builder
	for i, l := range links {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.String())
	}
	return b.String()
}

// FormatLinkset writes links in the application/linkset format (RFC 9264
// §4.1): the Link header syntax with one link per line.
func FormatLinkset(links []Link) string {
	var b strings.Builder
	for i, l := range links {
		b.WriteString(l.String())
		if i < len(links)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// String writes one link: <target>; rel="..."; anchor="..."; type="...";
// then the other parameters, every value quoted.
func (l Link) String() string {
	n := len(l.Target) + len(l.Rel) + len(l.Anchor) + len(l.Type) + 32
	for _, p := range l.Params {
		n += len(p.Name) + len(p.Value) + 6
	}
	return string(l.AppendTo(make([]byte, 0, n)))
}

// AppendTo appends the link as String writes it.
func (l Link) AppendTo(b []byte) []byte {
	b = append(b, '<')
	b = append(b, URI(l.Target)...)
	b = append(b, '>')
	if l.Rel != "" {
		b = appendParam(b, "rel", l.Rel)
	}
	if l.Anchor != "" {
		b = appendParam(b, "anchor", URI(l.Anchor))
	}
	if l.Type != "" {
		b = appendParam(b, "type", l.Type)
	}
	for _, p := range l.Params {
		b = appendParam(b, p.Name, p.Value)
	}
	return b
}

// appendParam appends ; name="value", or the RFC 8187 form for title*.
func appendParam(b []byte, name, value string) []byte {
	b = append(b, "; "...)
	b = append(b, name...)
	if name == "title*" {
		b = append(b, "=UTF-8''"...)
		const hex = "0123456789ABCDEF"
		for i := 0; i < len(value); i++ {
			c := value[i]
			if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
				b = append(b, c)
				continue
			}
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
		return b
	}
	b = append(b, `="`...)
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, value[i])
	}
	return append(b, '"')
}

// URI returns an IRI as a URI: every byte that a URI cannot carry (non-ASCII,
// controls, space, and "<>\"{}|\\^`") percent-encoded (RFC 3987 §3.1).
func URI(iri string) string {
	clean := true
	for i := 0; i < len(iri); i++ {
		if uriEscape(iri[i]) {
			clean = false
			break
		}
	}
	if clean {
		return iri
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(iri); i++ {
		c := iri[i]
		if uriEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func uriEscape(c byte) bool { return uriEscapes[c] }

var uriEscapes = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c <= ' ' || c >= 0x7f || strings.IndexByte("<>\"{}|\\^`", byte(c)) >= 0
	}
	return t
}()
