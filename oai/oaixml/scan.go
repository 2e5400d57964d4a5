package oaixml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// TokenReader is what a MetadataSink reads a payload from: an
// *xml.Decoder, or the chunk scanner. Tokens are xml.StartElement,
// xml.EndElement and xml.CharData with namespaces resolved, like
// xml.Decoder.Token returns them; CharData is valid until the next call.
type TokenReader interface {
	Token() (xml.Token, error)
}

// Skip consumes tokens up to the end of the current element.
func Skip(tr TokenReader) error {
	depth := 0
	for {
		tok, err := tr.Token()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				return nil
			}
			depth--
		}
	}
}

// scanner tokenizes one complete, in-memory chunk. It is a strict subset
// of XML 1.0 as encoding/xml reads it (same tokens, same namespace
// resolution) and an order of magnitude faster, because a record's chunk is
// already in memory and its structure known. Anything it does not accept -
// a DOCTYPE, an entity other than the five predefined and character
// references, a character XML forbids, invalid UTF-8 - is an error, and
// the caller falls back to encoding/xml, which has the last word. Like
// encoding/xml it never resolves external entities.
type scanner struct {
	b     []byte
	pos   int
	stack []scanFrame
	ns    []nsBinding // in-scope bindings, innermost last
	// pending is the end tag of a self-closing element, returned next.
	pending *xml.EndElement
	text    []byte // buffer for unescaped text
	names   map[string]string
	err     error
}

type scanFrame struct {
	qname string
	name  xml.Name
	nsLen int // len(ns) before this element's declarations
}

type nsBinding struct{ prefix, uri string }

var errScan = errors.New("not accepted by the fast scanner")

func newScanner(b []byte, inherited map[string]string) *scanner {
	s := &scanner{b: b, names: make(map[string]string, 32)}
	for p, u := range inherited {
		s.ns = append(s.ns, nsBinding{p, u})
	}
	return s
}

// offset is the position of the next unread byte.
func (s *scanner) offset() int { return s.pos }

func (s *scanner) fail(format string, args ...any) error {
	s.err = fmt.Errorf("%w: offset %d: %s", errScan, s.pos, fmt.Sprintf(format, args...))
	return s.err
}

func (s *scanner) intern(b []byte) string {
	if v, ok := s.names[string(b)]; ok {
		return v
	}
	v := string(b)
	s.names[v] = v
	return v
}

func (s *scanner) lookup(prefix string) (string, bool) {
	for i := len(s.ns) - 1; i >= 0; i-- {
		if s.ns[i].prefix == prefix {
			return s.ns[i].uri, true
		}
	}
	if prefix == "xml" {
		return "http://www.w3.org/XML/1998/namespace", true
	}
	if prefix == "xmlns" {
		return "xmlns", true
	}
	return "", prefix == ""
}

// Token returns the next token. Comments and processing instructions are
// skipped.
func (s *scanner) Token() (xml.Token, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.pending != nil {
		e := *s.pending
		s.pending = nil
		s.pop()
		return e, nil
	}
	for {
		if s.pos >= len(s.b) {
			if len(s.stack) > 0 {
				return nil, s.fail("unexpected end inside <%s>", s.stack[len(s.stack)-1].qname)
			}
			return nil, s.fail("unexpected end")
		}
		if s.b[s.pos] != '<' {
			return s.charData()
		}
		rest := s.b[s.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 {
				return nil, s.fail("unterminated comment")
			}
			s.pos += 4 + end + 3
			continue
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := bytes.Index(rest[9:], []byte("]]>"))
			if end < 0 {
				return nil, s.fail("unterminated CDATA")
			}
			data := rest[9 : 9+end]
			if !validChars(data) {
				return nil, s.fail("character not allowed in XML")
			}
			s.pos += 9 + end + 3
			return xml.CharData(data), nil
		case bytes.HasPrefix(rest, []byte("<?")):
			end := bytes.Index(rest[2:], []byte("?>"))
			if end < 0 {
				return nil, s.fail("unterminated processing instruction")
			}
			s.pos += 2 + end + 2
			continue
		case len(rest) > 1 && rest[1] == '!':
			return nil, s.fail("declaration")
		case len(rest) > 1 && rest[1] == '/':
			return s.endTag()
		}
		return s.startTag()
	}
}

func (s *scanner) pop() {
	f := s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	s.ns = s.ns[:f.nsLen]
}

func (s *scanner) charData() (xml.Token, error) {
	if len(s.stack) == 0 {
		// Text outside the root: only white space is allowed.
		end := bytes.IndexByte(s.b[s.pos:], '<')
		if end < 0 {
			end = len(s.b) - s.pos
		}
		if len(bytes.TrimSpace(s.b[s.pos:s.pos+end])) > 0 {
			return nil, s.fail("text outside the root element")
		}
		s.pos += end
		return s.Token()
	}
	end := bytes.IndexByte(s.b[s.pos:], '<')
	if end < 0 {
		return nil, s.fail("unexpected end in text")
	}
	raw := s.b[s.pos : s.pos+end]
	s.pos += end
	if !validChars(raw) {
		return nil, s.fail("character not allowed in XML")
	}
	if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return xml.CharData(raw), nil
	}
	out, err := s.unescape(s.text[:0], raw)
	if err != nil {
		return nil, err
	}
	s.text = out
	return xml.CharData(out), nil
}

// unescape decodes entity and character references, and normalises line
// ends as XML requires (\r\n and \r become \n).
func (s *scanner) unescape(out, raw []byte) ([]byte, error) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\r' {
			out = append(out, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			continue
		}
		if c != '&' {
			out = append(out, c)
			continue
		}
		end := bytes.IndexByte(raw[i:], ';')
		if end < 0 || end > 12 {
			return nil, s.fail("bad entity reference")
		}
		ent := raw[i+1 : i+end]
		switch string(ent) {
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "amp":
			out = append(out, '&')
		case "quot":
			out = append(out, '"')
		case "apos":
			out = append(out, '\'')
		default:
			if len(ent) < 2 || ent[0] != '#' {
				return nil, s.fail("entity &%s;", ent)
			}
			num, base := ent[1:], 10
			if num[0] == 'x' {
				num, base = num[1:], 16
			}
			v, err := strconv.ParseUint(string(num), base, 32)
			if err != nil || !xmlChar(rune(v)) {
				return nil, s.fail("character reference &%s;", ent)
			}
			out = utf8.AppendRune(out, rune(v))
		}
		i += end
	}
	return out, nil
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// validChars reports whether b is valid UTF-8 holding only characters XML
// allows.
func validChars(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || !xmlChar(r) {
			return false
		}
		i += n
	}
	return true
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':' || c >= 0x80
}

// name reads a qualified name at pos.
func (s *scanner) name() ([]byte, error) {
	start := s.pos
	for s.pos < len(s.b) && isNameByte(s.b[s.pos]) {
		s.pos++
	}
	n := s.b[start:s.pos]
	if len(n) == 0 || n[0] >= '0' && n[0] <= '9' || n[0] == '-' || n[0] == '.' || n[0] == ':' || n[len(n)-1] == ':' {
		return nil, s.fail("bad name %q", n)
	}
	if i := bytes.IndexByte(n, ':'); i >= 0 {
		rest := n[i+1:]
		if bytes.IndexByte(rest, ':') >= 0 || !(rest[0] >= 'a' && rest[0] <= 'z' || rest[0] >= 'A' && rest[0] <= 'Z' || rest[0] == '_') {
			return nil, s.fail("bad qualified name %q", n)
		}
	}
	for _, c := range n {
		if c >= 0x80 {
			// Non-ASCII names are rare; encoding/xml judges them.
			return nil, s.fail("non-ASCII name")
		}
	}
	return n, nil
}

func (s *scanner) space() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func splitName(q string) (prefix, local string) {
	for i := 0; i < len(q); i++ {
		if q[i] == ':' {
			return q[:i], q[i+1:]
		}
	}
	return "", q
}

func (s *scanner) startTag() (xml.Token, error) {
	s.pos++ // '<'
	nb, err := s.name()
	if err != nil {
		return nil, err
	}
	qname := s.intern(nb)
	nsLen := len(s.ns)
	type rawAttr struct {
		qname string
		value string
	}
	var attrs []rawAttr
	self := false
	for {
		before := s.pos
		s.space()
		if s.pos >= len(s.b) {
			return nil, s.fail("unterminated tag <%s>", qname)
		}
		c := s.b[s.pos]
		if c == '>' {
			s.pos++
			break
		}
		if c == '/' {
			if s.pos+1 >= len(s.b) || s.b[s.pos+1] != '>' {
				return nil, s.fail("bad tag end")
			}
			s.pos += 2
			self = true
			break
		}
		if s.pos == before {
			return nil, s.fail("attribute without space before it")
		}
		an, err := s.name()
		if err != nil {
			return nil, err
		}
		aname := s.intern(an)
		s.space()
		if s.pos >= len(s.b) || s.b[s.pos] != '=' {
			return nil, s.fail("attribute %s without value", aname)
		}
		s.pos++
		s.space()
		if s.pos >= len(s.b) || (s.b[s.pos] != '"' && s.b[s.pos] != '\'') {
			return nil, s.fail("unquoted attribute value")
		}
		q := s.b[s.pos]
		end := bytes.IndexByte(s.b[s.pos+1:], q)
		if end < 0 {
			return nil, s.fail("unterminated attribute value")
		}
		rawv := s.b[s.pos+1 : s.pos+1+end]
		s.pos += end + 2
		if bytes.IndexByte(rawv, '<') >= 0 || !validChars(rawv) {
			return nil, s.fail("bad attribute value")
		}
		v, err := s.attrValue(rawv)
		if err != nil {
			return nil, err
		}
		for _, a := range attrs {
			if a.qname == aname {
				return nil, s.fail("duplicate attribute %s", aname)
			}
		}
		attrs = append(attrs, rawAttr{aname, v})
		if aname == "xmlns" {
			s.ns = append(s.ns, nsBinding{"", v})
		} else if len(aname) > 6 && aname[:6] == "xmlns:" {
			if v == "" {
				return nil, s.fail("empty namespace for prefix %s", aname[6:])
			}
			s.ns = append(s.ns, nsBinding{aname[6:], v})
		}
	}
	prefix, local := splitName(qname)
	space, ok := s.lookup(prefix)
	if !ok {
		// encoding/xml keeps an unknown prefix as the Space; so do we.
		space = prefix
	}
	start := xml.StartElement{Name: xml.Name{Space: space, Local: local}}
	if len(attrs) > 0 {
		start.Attr = make([]xml.Attr, len(attrs))
		for i, a := range attrs {
			p, l := splitName(a.qname)
			sp := ""
			if p != "" {
				if u, ok := s.lookup(p); ok {
					sp = u
				} else {
					sp = p
				}
			} else if l == "xmlns" {
				sp = ""
			}
			start.Attr[i] = xml.Attr{Name: xml.Name{Space: sp, Local: l}, Value: a.value}
		}
	}
	s.stack = append(s.stack, scanFrame{qname: qname, name: start.Name, nsLen: nsLen})
	if self {
		s.pending = &xml.EndElement{Name: start.Name}
	}
	return start, nil
}

// attrValue unescapes an attribute value. Like encoding/xml it does not
// normalise white space.
func (s *scanner) attrValue(raw []byte) (string, error) {
	if bytes.IndexAny(raw, "&\r") < 0 {
		return string(raw), nil
	}
	out, err := s.unescape(nil, raw)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

func (s *scanner) endTag() (xml.Token, error) {
	s.pos += 2
	nb, err := s.name()
	if err != nil {
		return nil, err
	}
	s.space()
	if s.pos >= len(s.b) || s.b[s.pos] != '>' {
		return nil, s.fail("bad end tag")
	}
	s.pos++
	if len(s.stack) == 0 {
		return nil, s.fail("end tag </%s> without start", nb)
	}
	f := s.stack[len(s.stack)-1]
	if string(nb) != f.qname {
		return nil, s.fail("end tag </%s> does not match <%s>", nb, f.qname)
	}
	s.pop()
	return xml.EndElement{Name: f.name}, nil
}
