package oaixml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Namespace is the OAI-PMH 2.0 namespace.
const Namespace = "http://www.openarchives.org/OAI/2.0/"

// Header is an OAI-PMH record header.
type Header struct {
	Identifier string
	// Datestamp is as the source wrote it; see ParseDatestamp.
	Datestamp string
	Sets      []string
	Deleted   bool
}

// Record is an OAI-PMH record.
type Record struct {
	Header Header
	// Metadata is the content of <metadata>, byte for byte as received
	// (white space around the payload included); nil when absent.
	Metadata []byte
	// MetadataNamespace is the namespace of the payload's root element.
	MetadataNamespace string
	// Namespaces are the declarations in scope at the payload's root that
	// it does not make itself (made on <record>, <metadata> or further out).
	// A provider re-serving Metadata must declare them (see
	// DeclareNamespaces).
	Namespaces map[string]string
	// About holds each <about> element's content verbatim.
	About [][]byte
	// Line is the line of the record's start tag in the document.
	Line int
	// Sanitized is set when characters XML 1.0 forbids (control
	// characters, invalid UTF-8) were removed before parsing.
	Sanitized bool
}

// MetadataSink reads a record's payload as it is parsed, so that a
// crosswalk does not parse it a second time. It is called with the decoder
// positioned just after the payload's root start tag and must consume
// tokens up to and including the matching end tag (Skip does that). It may
// be called twice for one record (when the fast scanner gives up part-way
// and encoding/xml parses again), so each call must start afresh.
type MetadataSink func(tr TokenReader, root xml.StartElement) error

// ItemError is a fault in one item (a record, a header) of a document: the
// item is skipped and parsing goes on.
type ItemError struct {
	Name string // element name
	Line int
	// Identifier is the record's identifier when it could be read.
	Identifier string
	Err        error
}

func (e *ItemError) Error() string {
	if e.Identifier != "" {
		return fmt.Sprintf("line %d: <%s> %q: %v", e.Line, e.Name, e.Identifier, e.Err)
	}
	return fmt.Sprintf("line %d: <%s>: %v", e.Line, e.Name, e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }

// newChunkDecoder returns a decoder over the chunk wrapped in an element
// that re-declares the namespaces in scope, and the length of that wrapper.
func newChunkDecoder(c *Chunk, raw []byte) (*xml.Decoder, int) {
	var w bytes.Buffer
	w.WriteString("<w")
	keys := make([]string, 0, len(c.Namespaces))
	for k := range c.Namespaces {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "" {
			w.WriteString(` xmlns="`)
		} else {
			w.WriteString(" xmlns:" + k + `="`)
		}
		xml.EscapeText(&w, []byte(c.Namespaces[k]))
		w.WriteString(`"`)
	}
	w.WriteString(">")
	n := w.Len()
	d := xml.NewDecoder(io.MultiReader(&w, bytes.NewReader(raw), strings.NewReader("</w>")))
	d.Strict = true
	return d, n
}

// ParseRecord parses a "record" chunk. sink, if not nil, reads the payload.
// The error is an *ItemError.
func ParseRecord(c *Chunk, sink MetadataSink) (*Record, error) {
	if c.TooLarge {
		return nil, &ItemError{Name: c.Name, Line: c.Line, Err: fmt.Errorf("record of %d bytes exceeds the size limit", c.Size)}
	}
	// The fast scanner reads almost every record; whatever it does not
	// accept goes to encoding/xml, which decides.
	sc := getScanner(c.Raw, c.Namespaces)
	r, err := parseRecord(sc, sc.offset, c, c.Raw, sink)
	putScanner(sc)
	if err == nil {
		return r, nil
	}
	r, err = parseRecordStd(c, c.Raw, sink)
	if err != nil && isCharError(err) {
		// Real repositories emit control characters (PUC-Rio's Maxwell
		// sends U+000B in descriptions) and broken UTF-8: drop them and
		// parse again rather than lose the record.
		clean := Sanitize(c.Raw)
		if r, err = parseRecordStd(c, clean, sink); err == nil {
			r.Sanitized = true
		}
	}
	if err != nil {
		id := ""
		if r != nil {
			id = r.Header.Identifier
		}
		return nil, &ItemError{Name: c.Name, Line: c.Line + errLine(err) - 1, Identifier: id, Err: err}
	}
	return r, nil
}

func parseRecordStd(c *Chunk, raw []byte, sink MetadataSink) (*Record, error) {
	d, wrap := newChunkDecoder(c, raw)
	if _, err := d.Token(); err != nil { // the wrapper
		return &Record{Line: c.Line}, err
	}
	return parseRecord(d, func() int { return int(d.InputOffset()) - wrap }, c, raw, sink)
}

func errLine(err error) int {
	var se *xml.SyntaxError
	if errors.As(err, &se) && se.Line > 0 {
		return se.Line
	}
	return 1
}

func isCharError(err error) bool {
	var se *xml.SyntaxError
	if !errors.As(err, &se) {
		return false
	}
	return strings.Contains(se.Msg, "illegal character") || strings.Contains(se.Msg, "invalid UTF-8") ||
		strings.Contains(se.Msg, "character entity")
}

// parseRecord reads a record element from tr; offset gives the position
// in raw of the next unread byte.
func parseRecord(tr TokenReader, offset func() int, c *Chunk, raw []byte, sink MetadataSink) (*Record, error) {
	r := &Record{Line: c.Line}
	start, err := nextStart(tr)
	if err != nil {
		return r, err
	}
	if !isOAI(start.Name) || start.Name.Local != "record" {
		return r, fmt.Errorf("<%s> in namespace %q is not an OAI-PMH record", start.Name.Local, start.Name.Space)
	}
	outer := inherit(c.Namespaces, start.Attr)
	sawHeader := false
	for {
		tok, err := tr.Token()
		if err != nil {
			return r, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case isOAI(t.Name) && t.Name.Local == "header":
				sawHeader = true
				if err := parseHeader(tr, t, &r.Header); err != nil {
					return r, err
				}
			case isOAI(t.Name) && t.Name.Local == "metadata":
				if err := r.readMetadata(tr, offset, raw, inherit(outer, t.Attr), sink); err != nil {
					return r, err
				}
			case isOAI(t.Name) && t.Name.Local == "about":
				before := offset()
				var end int
				if sc, ok := tr.(*scanner); ok {
					end, err = sc.skipElement()
				} else {
					end, err = skipTo(tr, offset)
				}
				if err != nil {
					return r, err
				}
				r.About = append(r.About, raw[before:end:end])
			default:
				if err := Skip(tr); err != nil {
					return r, err
				}
			}
		case xml.EndElement:
			if !sawHeader {
				return r, errors.New("record has no header")
			}
			if r.Header.Identifier == "" {
				return r, errors.New("record header has no identifier")
			}
			if r.Metadata == nil && !r.Header.Deleted {
				return r, errors.New("record has neither metadata nor status=\"deleted\"")
			}
			return r, nil
		}
	}
}

// readMetadata records the payload's bytes and hands its root to sink.
func (r *Record) readMetadata(tr TokenReader, offset func() int, raw []byte, ns map[string]string, sink MetadataSink) error {
	begin := offset()
	// The declarations in scope that the payload's root does not make.
	var inherited []nsBinding
	for {
		pos := offset()
		tok, err := tr.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if r.MetadataNamespace != "" {
				return errors.New("<metadata> has more than one root element")
			}
			r.MetadataNamespace = t.Name.Space
			for k, v := range ns {
				if !declares(t.Attr, k) {
					inherited = append(inherited, nsBinding{k, v})
				}
			}
			if sink != nil {
				if err := sink(tr, t); err != nil {
					return err
				}
			} else if err := Skip(tr); err != nil {
				return err
			}
		case xml.EndElement:
			// The payload shares the chunk's bytes, which the caller
			// owns and no one writes to.
			r.Metadata = raw[begin:pos:pos]
			if r.Metadata == nil {
				r.Metadata = []byte{}
			}
			for _, b := range inherited {
				if usesPrefix(r.Metadata, b.prefix) {
					if r.Namespaces == nil {
						r.Namespaces = make(map[string]string)
					}
					r.Namespaces[b.prefix] = b.uri
				}
			}
			return nil
		}
	}
}

// declares reports whether attrs declare prefix ("" the default namespace).
func declares(attrs []xml.Attr, prefix string) bool {
	for _, a := range attrs {
		if a.Name.Space == "xmlns" && a.Name.Local == prefix || prefix == "" && a.Name.Space == "" && a.Name.Local == "xmlns" {
			return true
		}
	}
	return false
}

// usesPrefix reports whether a payload may use a namespace prefix (the
// default namespace for ""): in an element or attribute name. It errs on
// the side of yes; an extra declaration is harmless, a missing one is not.
func usesPrefix(payload []byte, prefix string) bool {
	if prefix == "" {
		for i := 0; i < len(payload)-1; i++ {
			if payload[i] != '<' {
				continue
			}
			c := payload[i+1]
			if c == '/' || c == '!' || c == '?' {
				continue
			}
			j := i + 1
			for j < len(payload) && !isSpace(payload[j]) && payload[j] != '>' && payload[j] != '/' && payload[j] != ':' {
				j++
			}
			if j == len(payload) || payload[j] != ':' {
				return true
			}
		}
		return false
	}
	p := []byte(prefix + ":")
	for i := 0; ; {
		j := bytes.Index(payload[i:], p)
		if j < 0 {
			return false
		}
		j += i
		if j > 0 {
			switch payload[j-1] {
			case '<', '/', ' ', '\t', '\n', '\r':
				return true
			}
		}
		i = j + len(p)
	}
}

// inherit adds an element's namespace declarations to those in scope.
func inherit(scope map[string]string, attrs []xml.Attr) map[string]string {
	var out map[string]string
	for _, a := range attrs {
		prefix, ok := "", false
		switch {
		case a.Name.Space == "xmlns":
			prefix, ok = a.Name.Local, true
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			ok = true
		}
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(scope)+1)
			for k, v := range scope {
				out[k] = v
			}
		}
		out[prefix] = a.Value
	}
	if out == nil {
		return scope
	}
	return out
}

func isOAI(n xml.Name) bool { return n.Space == Namespace || n.Space == "" }

func nextStart(tr TokenReader) (xml.StartElement, error) {
	for {
		tok, err := tr.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if t, ok := tok.(xml.StartElement); ok {
			return t, nil
		}
	}
}

// skipTo consumes the current element and returns the offset where its end
// tag starts.
func skipTo(tr TokenReader, offset func() int) (int, error) {
	depth := 0
	for {
		pos := offset()
		tok, err := tr.Token()
		if err != nil {
			return 0, err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				return pos, nil
			}
			depth--
		}
	}
}

func parseHeader(tr TokenReader, start xml.StartElement, h *Header) error {
	for _, a := range start.Attr {
		if a.Name.Local == "status" && strings.TrimSpace(a.Value) == "deleted" {
			h.Deleted = true
		}
	}
	for {
		tok, err := tr.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			text, err := textOf(tr)
			if err != nil {
				return err
			}
			switch t.Name.Local {
			case "identifier":
				h.Identifier = strings.TrimSpace(text)
			case "datestamp":
				h.Datestamp = strings.TrimSpace(text)
			case "setSpec":
				if s := strings.TrimSpace(text); s != "" {
					h.Sets = append(h.Sets, s)
				}
			}
		case xml.EndElement:
			return nil
		}
	}
}

// textOf returns the character data of the current element, consuming it.
func textOf(tr TokenReader) (string, error) {
	var b strings.Builder
	depth := 0
	for {
		tok, err := tr.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				return b.String(), nil
			}
			depth--
		}
	}
}

// ParseHeader parses a "header" chunk (ListIdentifiers).
func ParseHeader(c *Chunk) (*Header, error) {
	raw := c.Raw
	h, err := parseHeaderChunk(c, raw)
	if err != nil && isCharError(err) {
		h, err = parseHeaderChunk(c, Sanitize(raw))
	}
	if err != nil {
		return nil, &ItemError{Name: c.Name, Line: c.Line + errLine(err) - 1, Err: err}
	}
	return h, nil
}

func parseHeaderChunk(c *Chunk, raw []byte) (*Header, error) {
	d, _ := newChunkDecoder(c, raw)
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	start, err := nextStart(d)
	if err != nil {
		return nil, err
	}
	h := &Header{}
	if err := parseHeader(d, start, h); err != nil {
		return nil, err
	}
	if h.Identifier == "" {
		return nil, errors.New("header has no identifier")
	}
	return h, nil
}

// ResumptionToken is a list's resumptionToken element.
type ResumptionToken struct {
	// Value is the token; empty on the last page of a list.
	Value string
	// Cursor and CompleteListSize are -1 when absent.
	Cursor           int64
	CompleteListSize int64
	ExpirationDate   string
}

// Error is an OAI-PMH error element.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "OAI-PMH error " + e.Code
	}
	return fmt.Sprintf("OAI-PMH error %s: %s", e.Code, e.Message)
}

// Request is the request element a response echoes.
type Request struct {
	BaseURL string
	Attrs   map[string]string
}

// ResponseDate is the responseDate element, as written.
type ResponseDate string

// Identify is an Identify response.
type Identify struct {
	RepositoryName    string   `xml:"repositoryName"`
	BaseURL           string   `xml:"baseURL"`
	ProtocolVersion   string   `xml:"protocolVersion"`
	AdminEmails       []string `xml:"adminEmail"`
	EarliestDatestamp string   `xml:"earliestDatestamp"`
	DeletedRecord     string   `xml:"deletedRecord"`
	Granularity       string   `xml:"granularity"`
	Compression       []string `xml:"compression"`
	Descriptions      []struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"description"`
}

// Set is a set of ListSets.
type Set struct {
	Spec        string `xml:"setSpec"`
	Name        string `xml:"setName"`
	Description []byte
}

// MetadataFormat is a format of ListMetadataFormats.
type MetadataFormat struct {
	Prefix    string `xml:"metadataPrefix"`
	Schema    string `xml:"schema"`
	Namespace string `xml:"metadataNamespace"`
}

// parseSmall decodes a small envelope chunk into v with encoding/xml.
func parseSmall(c *Chunk, v any) error {
	raw := c.Raw
	err := unmarshalChunk(c, raw, v)
	if err != nil && isCharError(err) {
		err = unmarshalChunk(c, Sanitize(raw), v)
	}
	if err != nil {
		return &ItemError{Name: c.Name, Line: c.Line + errLine(err) - 1, Err: err}
	}
	return nil
}

func unmarshalChunk(c *Chunk, raw []byte, v any) error {
	d, _ := newChunkDecoder(c, raw)
	if _, err := d.Token(); err != nil {
		return err
	}
	start, err := nextStart(d)
	if err != nil {
		return err
	}
	return d.DecodeElement(v, &start)
}

// ParseChunk parses any chunk into its item: *Record (with sink), *Header,
// *ResumptionToken, *Error, *Request, ResponseDate, *Identify, *Set or
// *MetadataFormat. Errors are *ItemError.
func ParseChunk(c *Chunk, sink MetadataSink) (any, error) {
	switch c.Name {
	case "record":
		return ParseRecord(c, sink)
	case "header":
		return ParseHeader(c)
	case "resumptionToken":
		var t struct {
			Value  string `xml:",chardata"`
			Cursor string `xml:"cursor,attr"`
			Size   string `xml:"completeListSize,attr"`
			Exp    string `xml:"expirationDate,attr"`
		}
		if err := parseSmall(c, &t); err != nil {
			return nil, err
		}
		rt := &ResumptionToken{Value: strings.TrimSpace(t.Value), Cursor: -1, CompleteListSize: -1, ExpirationDate: strings.TrimSpace(t.Exp)}
		if n, err := strconv.ParseInt(strings.TrimSpace(t.Cursor), 10, 64); err == nil {
			rt.Cursor = n
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(t.Size), 10, 64); err == nil {
			rt.CompleteListSize = n
		}
		return rt, nil
	case "error":
		var e struct {
			Code string `xml:"code,attr"`
			Msg  string `xml:",chardata"`
		}
		if err := parseSmall(c, &e); err != nil {
			return nil, err
		}
		return &Error{Code: strings.TrimSpace(e.Code), Message: strings.Join(strings.Fields(e.Msg), " ")}, nil
	case "request":
		var r struct {
			Attrs []xml.Attr `xml:",any,attr"`
			URL   string     `xml:",chardata"`
		}
		if err := parseSmall(c, &r); err != nil {
			return nil, err
		}
		req := &Request{BaseURL: strings.TrimSpace(r.URL), Attrs: map[string]string{}}
		for _, a := range r.Attrs {
			req.Attrs[a.Name.Local] = a.Value
		}
		return req, nil
	case "responseDate":
		var s string
		if err := parseSmall(c, &s); err != nil {
			return nil, err
		}
		return ResponseDate(strings.TrimSpace(s)), nil
	case "Identify":
		id := &Identify{}
		if err := parseSmall(c, id); err != nil {
			return nil, err
		}
		id.RepositoryName = strings.TrimSpace(id.RepositoryName)
		id.BaseURL = strings.TrimSpace(id.BaseURL)
		id.EarliestDatestamp = strings.TrimSpace(id.EarliestDatestamp)
		id.Granularity = strings.TrimSpace(id.Granularity)
		id.DeletedRecord = strings.TrimSpace(id.DeletedRecord)
		id.ProtocolVersion = strings.TrimSpace(id.ProtocolVersion)
		return id, nil
	case "set":
		var s struct {
			Spec string `xml:"setSpec"`
			Name string `xml:"setName"`
			Desc struct {
				Inner []byte `xml:",innerxml"`
			} `xml:"setDescription"`
		}
		if err := parseSmall(c, &s); err != nil {
			return nil, err
		}
		return &Set{Spec: strings.TrimSpace(s.Spec), Name: strings.TrimSpace(s.Name), Description: s.Desc.Inner}, nil
	case "metadataFormat":
		f := &MetadataFormat{}
		if err := parseSmall(c, f); err != nil {
			return nil, err
		}
		f.Prefix, f.Schema, f.Namespace = strings.TrimSpace(f.Prefix), strings.TrimSpace(f.Schema), strings.TrimSpace(f.Namespace)
		return f, nil
	}
	return nil, &ItemError{Name: c.Name, Line: c.Line, Err: errors.New("unknown element")}
}

// Sanitize returns b without the characters XML 1.0 forbids: C0 control
// characters other than tab, line feed and carriage return, character
// references to them, U+FFFE/U+FFFF, and invalid UTF-8 (replaced by U+FFFD).
func Sanitize(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				i++
				continue
			}
			if c == '&' && i+2 < len(b) && b[i+1] == '#' {
				if n, ok := charRef(b[i:]); ok {
					i += n
					continue
				}
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			out = append(out, "\uFFFD"...)
		} else if r != 0xFFFE && r != 0xFFFF {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

// charRef reports the length of a character reference at the start of b
// when it names a character XML forbids.
func charRef(b []byte) (int, bool) {
	end := bytes.IndexByte(b[:min(len(b), 12)], ';')
	if end < 0 {
		return 0, false
	}
	num := string(b[2:end])
	base := 10
	if strings.HasPrefix(num, "x") || strings.HasPrefix(num, "X") {
		num, base = num[1:], 16
	}
	v, err := strconv.ParseUint(num, base, 32)
	if err != nil {
		return 0, false
	}
	r := rune(v)
	bad := !(r == 0x09 || r == 0x0A || r == 0x0D || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF))
	return end + 1, bad
}

// DeclareNamespaces returns payload with the given declarations added to its
// root start tag (those the tag does not make itself), so that a payload cut
// out of a document that declared its prefixes further out is well-formed
// alone. It returns payload unchanged when there is nothing to add.
func DeclareNamespaces(payload []byte, ns map[string]string) []byte {
	if len(ns) == 0 {
		return payload
	}
	// Find the root start tag: skip white space, comments and PIs.
	i := 0
	for {
		j := bytes.IndexByte(payload[i:], '<')
		if j < 0 {
			return payload
		}
		i += j
		rest := payload[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			k := bytes.Index(rest, []byte("-->"))
			if k < 0 {
				return payload
			}
			i += k + 3
			continue
		case bytes.HasPrefix(rest, []byte("<?")):
			k := bytes.Index(rest, []byte("?>"))
			if k < 0 {
				return payload
			}
			i += k + 2
			continue
		}
		break
	}
	end := i + 1
	for end < len(payload) && !isSpace(payload[end]) && payload[end] != '>' && payload[end] != '/' {
		end++
	}
	tagEnd := bytes.IndexByte(payload[i:], '>')
	if tagEnd < 0 {
		return payload
	}
	own := declarations(payload[i : i+tagEnd+1])
	keys := make([]string, 0, len(ns))
	for k := range ns {
		if _, ok := own[k]; !ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return payload
	}
	slices.Sort(keys)
	var add bytes.Buffer
	for _, k := range keys {
		if k == "" {
			add.WriteString(` xmlns="`)
		} else {
			add.WriteString(" xmlns:" + k + `="`)
		}
		xml.EscapeText(&add, []byte(ns[k]))
		add.WriteByte('"')
	}
	out := make([]byte, 0, len(payload)+add.Len())
	out = append(out, payload[:end]...)
	out = append(out, add.Bytes()...)
	return append(out, payload[end:]...)
}
