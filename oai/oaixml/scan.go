package oaixml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"sync"
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
	// pending is set when the last start tag closed itself: its end
	// tag (tokStart's name) is returned next.
	pending bool
	// The token next read. tokStart.Attr is attrs, reused from tag to
	// tag: Token hands out a copy.
	tokStart xml.StartElement
	tokEnd   xml.Name
	tokText  []byte
	text     []byte // buffer for unescaped text
	// names interns element and attribute names and short attribute
	// values, so that a record's tags do not allocate a string each.
	names    map[string]string
	recent   [64]string // a direct-mapped cache in front of names
	rawAttrs []rawAttr
	attrs    []xml.Attr
	err      error
}

type rawAttr struct {
	qname string
	value string
}

type scanFrame struct {
	qname string
	name  xml.Name
	nsLen int // len(ns) before this element's declarations
}

type nsBinding struct{ prefix, uri string }

var errScan = errors.New("not accepted by the fast scanner")

func newScanner(b []byte, inherited map[string]string) *scanner {
	s := &scanner{names: make(map[string]string, 32)}
	s.reset(b, inherited)
	return s
}

// maxNames bounds what a pooled scanner keeps interned.
const maxNames = 4096

func (s *scanner) reset(b []byte, inherited map[string]string) {
	s.b, s.pos, s.err = b, 0, nil
	s.stack, s.ns = s.stack[:0], s.ns[:0]
	s.pending = false
	s.tokStart, s.tokEnd, s.tokText = xml.StartElement{}, xml.Name{}, nil
	if len(s.names) > maxNames {
		clear(s.names)
	}
	for p, u := range inherited {
		s.ns = append(s.ns, nsBinding{p, u})
	}
}

// scanners are reused from record to record: a fresh scanner costs its
// maps and slices, and interning a record's names again.
var scanners = sync.Pool{New: func() any { return &scanner{names: make(map[string]string, 64)} }}

func getScanner(b []byte, inherited map[string]string) *scanner {
	s := scanners.Get().(*scanner)
	s.reset(b, inherited)
	return s
}

// putScanner returns s to the pool; nothing read from it may be used
// after (strings excepted).
func putScanner(s *scanner) {
	s.reset(nil, nil)
	clear(s.attrs[:cap(s.attrs)])
	clear(s.rawAttrs[:cap(s.rawAttrs)])
	s.text = s.text[:0]
	if cap(s.text) > 64<<10 {
		s.text = nil
	}
	scanners.Put(s)
}

// offset is the position of the next unread byte.
func (s *scanner) offset() int { return s.pos }

func (s *scanner) fail(format string, args ...any) error {
	s.err = fmt.Errorf("%w: offset %d: %s", errScan, s.pos, fmt.Sprintf(format, args...))
	return s.err
}

func (s *scanner) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	// A record repeats a dozen names: comparing with the one last seen
	// in its slot is cheaper than hashing for the map.
	slot := &s.recent[(uint(len(b))*7+uint(b[0])+uint(b[len(b)-1])*3)&63]
	if *slot == string(b) {
		return *slot
	}
	v, ok := s.names[string(b)]
	if !ok {
		v = string(b)
		s.names[v] = v
	}
	*slot = v
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
	k, err := s.next()
	switch k {
	case kStart:
		st := s.tokStart
		if len(st.Attr) > 0 {
			st.Attr = append([]xml.Attr(nil), st.Attr...)
		}
		return st, nil
	case kEnd:
		return xml.EndElement{Name: s.tokEnd}, nil
	case kText:
		return xml.CharData(s.tokText), nil
	}
	return nil, err
}

// tokKind is what next read; the token itself is in the scanner's tok
// fields, so that readers which need no xml.Token (NextChild) do not box
// one per token.
type tokKind int

const (
	kNone tokKind = iota
	kStart
	kEnd
	kText
)

// next reads the next token into tokStart, tokEnd or tokText.
func (s *scanner) next() (tokKind, error) {
	if s.err != nil {
		return kNone, s.err
	}
	if s.pending {
		s.tokEnd = s.tokStart.Name
		s.pending = false
		s.pop()
		return kEnd, nil
	}
	for {
		if s.pos >= len(s.b) {
			if len(s.stack) > 0 {
				return kNone, s.fail("unexpected end inside <%s>", s.stack[len(s.stack)-1].qname)
			}
			return kNone, s.fail("unexpected end")
		}
		if s.b[s.pos] != '<' {
			return s.charData()
		}
		rest := s.b[s.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 {
				return kNone, s.fail("unterminated comment")
			}
			s.pos += 4 + end + 3
			continue
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := bytes.Index(rest[9:], []byte("]]>"))
			if end < 0 {
				return kNone, s.fail("unterminated CDATA")
			}
			data := rest[9 : 9+end]
			if !validChars(data) {
				return kNone, s.fail("character not allowed in XML")
			}
			s.pos += 9 + end + 3
			s.tokText = data
			return kText, nil
		case bytes.HasPrefix(rest, []byte("<?")):
			end := bytes.Index(rest[2:], []byte("?>"))
			if end < 0 {
				return kNone, s.fail("unterminated processing instruction")
			}
			s.pos += 2 + end + 2
			continue
		case len(rest) > 1 && rest[1] == '!':
			return kNone, s.fail("declaration")
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

func (s *scanner) charData() (tokKind, error) {
	if len(s.stack) == 0 {
		// Text outside the root: only white space is allowed.
		end := bytes.IndexByte(s.b[s.pos:], '<')
		if end < 0 {
			end = len(s.b) - s.pos
		}
		if len(bytes.TrimSpace(s.b[s.pos:s.pos+end])) > 0 {
			return kNone, s.fail("text outside the root element")
		}
		s.pos += end
		return s.next()
	}
	end := bytes.IndexByte(s.b[s.pos:], '<')
	if end < 0 {
		return kNone, s.fail("unexpected end in text")
	}
	raw := s.b[s.pos : s.pos+end]
	s.pos += end
	if !validChars(raw) {
		return kNone, s.fail("character not allowed in XML")
	}
	if bytes.IndexByte(raw, ']') >= 0 && bytes.Contains(raw, []byte("]]>")) {
		return kNone, s.fail("]]> in text")
	}
	if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		s.tokText = raw
		return kText, nil
	}
	out, err := s.unescape(s.text[:0], raw)
	if err != nil {
		return kNone, err
	}
	s.text = out
	s.tokText = out
	return kText, nil
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

func (s *scanner) startTag() (tokKind, error) {
	s.pos++ // '<'
	nb, err := s.name()
	if err != nil {
		return kNone, err
	}
	qname := s.intern(nb)
	nsLen := len(s.ns)
	attrs := s.rawAttrs[:0]
	self := false
	for {
		before := s.pos
		s.space()
		if s.pos >= len(s.b) {
			return kNone, s.fail("unterminated tag <%s>", qname)
		}
		c := s.b[s.pos]
		if c == '>' {
			s.pos++
			break
		}
		if c == '/' {
			if s.pos+1 >= len(s.b) || s.b[s.pos+1] != '>' {
				return kNone, s.fail("bad tag end")
			}
			s.pos += 2
			self = true
			break
		}
		if s.pos == before {
			return kNone, s.fail("attribute without space before it")
		}
		an, err := s.name()
		if err != nil {
			return kNone, err
		}
		aname := s.intern(an)
		s.space()
		if s.pos >= len(s.b) || s.b[s.pos] != '=' {
			return kNone, s.fail("attribute %s without value", aname)
		}
		s.pos++
		s.space()
		if s.pos >= len(s.b) || (s.b[s.pos] != '"' && s.b[s.pos] != '\'') {
			return kNone, s.fail("unquoted attribute value")
		}
		q := s.b[s.pos]
		end := bytes.IndexByte(s.b[s.pos+1:], q)
		if end < 0 {
			return kNone, s.fail("unterminated attribute value")
		}
		rawv := s.b[s.pos+1 : s.pos+1+end]
		s.pos += end + 2
		if bytes.IndexByte(rawv, '<') >= 0 || !validChars(rawv) {
			return kNone, s.fail("bad attribute value")
		}
		v, err := s.attrValue(rawv)
		if err != nil {
			return kNone, err
		}
		for _, a := range attrs {
			if a.qname == aname {
				return kNone, s.fail("duplicate attribute %s", aname)
			}
		}
		attrs = append(attrs, rawAttr{aname, v})
		s.rawAttrs = attrs
		if aname == "xmlns" {
			s.ns = append(s.ns, nsBinding{"", v})
		} else if len(aname) > 6 && aname[:6] == "xmlns:" {
			if v == "" {
				return kNone, s.fail("empty namespace for prefix %s", aname[6:])
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
		if cap(s.attrs) < len(attrs) {
			s.attrs = make([]xml.Attr, len(attrs), 2*len(attrs))
		}
		start.Attr = s.attrs[:len(attrs):len(attrs)]
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
	s.pending = self
	s.tokStart = start
	return kStart, nil
}

// attrValue unescapes an attribute value. Like encoding/xml it does not
// normalise white space.
func (s *scanner) attrValue(raw []byte) (string, error) {
	if bytes.IndexAny(raw, "&\r") < 0 {
		if len(raw) <= 64 {
			// Language tags, namespaces, schema locations: the same few
			// values on every record.
			return s.intern(raw), nil
		}
		return string(raw), nil
	}
	out, err := s.unescape(nil, raw)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

func (s *scanner) endTag() (tokKind, error) {
	s.pos += 2
	nb, err := s.name()
	if err != nil {
		return kNone, err
	}
	s.space()
	if s.pos >= len(s.b) || s.b[s.pos] != '>' {
		return kNone, s.fail("bad end tag")
	}
	s.pos++
	if len(s.stack) == 0 {
		return kNone, s.fail("end tag </%s> without start", nb)
	}
	f := s.stack[len(s.stack)-1]
	if string(nb) != f.qname {
		return kNone, s.fail("end tag </%s> does not match <%s>", nb, f.qname)
	}
	s.pop()
	s.tokEnd = f.name
	return kEnd, nil
}

// NextChild reads the next child element of the element being read and
// returns its name, its xml:lang and its text (the text of nested elements
// included), consuming it; ok is false, and the parent's end tag consumed,
// when there is none. It is TokenReader's fast path for flat formats like
// Dublin Core: no token is boxed.
func (s *scanner) NextChild() (name xml.Name, lang, text string, ok bool, err error) {
	for {
		k, err := s.next()
		switch k {
		case kEnd:
			return xml.Name{}, "", "", false, nil
		case kText:
			continue
		case kStart:
			name = s.tokStart.Name
			for _, a := range s.tokStart.Attr {
				if a.Name.Local == "lang" && a.Name.Space == "http://www.w3.org/XML/1998/namespace" {
					lang = a.Value
				}
			}
			text, err = s.elementText()
			return name, lang, text, err == nil, err
		default:
			return xml.Name{}, "", "", false, err
		}
	}
}

// skipElement consumes the element just started and returns the offset
// where its end tag starts: Skip without a token per element.
func (s *scanner) skipElement() (int, error) {
	depth := 0
	for {
		pos := s.pos
		k, err := s.next()
		switch k {
		case kStart:
			depth++
		case kEnd:
			if depth == 0 {
				return pos, nil
			}
			depth--
		case kNone:
			return 0, err
		}
	}
}

// elementText returns the text of the element just started, consuming it.
func (s *scanner) elementText() (string, error) {
	var first string
	var b []byte
	n, depth := 0, 0
	for {
		k, err := s.next()
		switch k {
		case kText:
			if n == 0 {
				first = string(s.tokText)
			} else {
				if n == 1 {
					b = append(b, first...)
				}
				b = append(b, s.tokText...)
			}
			n++
		case kStart:
			depth++
		case kEnd:
			if depth == 0 {
				if n > 1 {
					return string(b), nil
				}
				return first, nil
			}
			depth--
		default:
			return "", err
		}
	}
}

// ChildReader is the fast path of a TokenReader (the chunk scanner has it):
// see NextChild. A MetadataSink that reads a flat format can use it when
// the reader has it, and tokens otherwise.
type ChildReader interface {
	NextChild() (name xml.Name, lang, text string, ok bool, err error)
}

// NewTokenReader returns the fast scanner over one complete element held
// in b (ns are the namespace declarations in scope). It accepts a strict
// subset of XML; on an error, parse again with encoding/xml.
func NewTokenReader(b []byte, ns map[string]string) TokenReader { return newScanner(b, ns) }
