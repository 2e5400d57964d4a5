package oaixml

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// chunkNames are the elements a Splitter hands out whole: the repeated
// items of OAI-PMH lists and the parts of a response envelope. Containers
// (OAI-PMH, ListRecords, GetRecord, ...) and unknown wrappers are walked
// through; anything inside a chunk (a MARC <record> inside <metadata>)
// belongs to that chunk.
var chunkNames = map[string]bool{
	"record": true, "header": true, "set": true, "metadataFormat": true,
	"resumptionToken": true, "responseDate": true, "request": true,
	"error": true, "Identify": true,
}

// compactAt is how much consumed input the Splitter keeps before moving
// the rest of its buffer to the front.
const compactAt = 32 << 10

// Chunk is one element of a document, as raw bytes, with what is needed to
// parse it alone.
type Chunk struct {
	// Name is the element's local name ("record", "resumptionToken", ...).
	Name string
	// Raw is the element from its start tag to its end tag, byte for byte
	// (after transcoding to UTF-8 when the document declared another
	// encoding). It is owned by the Chunk.
	Raw []byte
	// Namespaces are the prefix declarations in scope from enclosing
	// elements ("" is the default namespace).
	Namespaces map[string]string
	// Line is the 1-based line of the start tag in the document.
	Line int
	// Offset is the byte offset of the start tag in the (UTF-8) document.
	Offset int64
	// TooLarge is set, and Raw nil, when the element exceeded
	// Options.MaxChunkSize; the Splitter skipped over it.
	TooLarge bool
	Size     int64
}

// Options bound the resources a Splitter or Decoder uses.
type Options struct {
	// MaxChunkSize is the largest element (a record) kept; larger ones are
	// reported and skipped. Default 16 MiB.
	MaxChunkSize int
	// MaxBytes is the most a document may hold; reading stops with an error
	// after it. Default 0: unlimited (a file); harvesters set it.
	MaxBytes int64
}

func (o Options) withDefaults() Options {
	if o.MaxChunkSize <= 0 {
		o.MaxChunkSize = 16 << 20
	}
	return o
}

// SyntaxError is a fault in the structure of the document around the chunks
// (an unclosed or mismatched tag, a DOCTYPE, a truncated file). Parsing
// cannot go on after one.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ErrTooLarge is returned when a document exceeds Options.MaxBytes.
var ErrTooLarge = errors.New("document exceeds the size limit")

// Splitter cuts an XML document into Chunks without building a tree. It
// scans bytes for tags (skipping comments, CDATA sections and processing
// instructions, where a '<' may stand for itself), so its cost is a fraction
// of a full parse, and chunks can be parsed in parallel with encoding/xml.
// Memory is bounded by the largest chunk kept.
type Splitter struct {
	opts   Options
	r      *bufio.Reader
	buf    []byte // unconsumed input; buf[0] is at document offset base
	base   int64
	pos    int // scan position in buf
	line   int // line at buf[lineAt]
	lineAt int
	eof    bool
	err    error
	read   int64

	stack    []frame
	started  bool // root element seen
	declDone bool
	// scope caches inScope for the current stack.
	scope      map[string]string
	scopeDepth int
	scopeValid bool
	// names interns tag names: a list repeats the same few.
	names map[string]string
}

type frame struct {
	name string // qualified name as written
	ns   map[string]string
}

// NewSplitter returns a Splitter reading r. When the document's XML
// declaration names an encoding other than UTF-8, the input is transcoded.
func NewSplitter(r io.Reader, opts Options) *Splitter {
	s := &Splitter{opts: opts.withDefaults(), line: 1}
	if s.opts.MaxBytes > 0 {
		r = &limitReader{r: r, n: s.opts.MaxBytes}
	}
	s.r = bufio.NewReaderSize(r, 64<<10)
	return s
}

type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// detectEncoding peeks at the XML declaration and wraps the reader in a
// decoder when it declares an encoding other than UTF-8 or US-ASCII.
func (s *Splitter) detectEncoding() error {
	s.declDone = true
	head, _ := s.r.Peek(512)
	// A UTF-8 byte order mark is dropped.
	if bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")) {
		s.r.Discard(3)
		head = head[3:]
	}
	if !bytes.HasPrefix(head, []byte("<?xml")) {
		return nil
	}
	end := bytes.Index(head, []byte("?>"))
	if end < 0 {
		return nil
	}
	decl := string(head[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return nil
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n=")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return nil
	}
	q := rest[0]
	j := strings.IndexByte(rest[1:], q)
	if j < 0 {
		return nil
	}
	enc := strings.ToLower(rest[1 : 1+j])
	switch enc {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return nil
	}
	e, err := htmlindex.Get(enc)
	if err != nil {
		return &SyntaxError{Line: 1, Msg: fmt.Sprintf("unsupported encoding %q", enc)}
	}
	s.r = bufio.NewReaderSize(e.NewDecoder().Reader(s.r), 64<<10)
	return nil
}

// fill reads more input into buf. It returns false at the end of input.
func (s *Splitter) fill() bool {
	if s.eof {
		return false
	}
	if len(s.buf) == cap(s.buf) {
		nb := make([]byte, len(s.buf), max(2*cap(s.buf), 128<<10))
		copy(nb, s.buf)
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	s.read += int64(n)
	if err != nil {
		if err != io.EOF {
			s.err = err
		}
		s.eof = true
	}
	return n > 0 || !s.eof
}

// compact drops consumed input before keep.
func (s *Splitter) compact(keep int) {
	if keep == 0 {
		return
	}
	s.countLines(keep)
	n := copy(s.buf, s.buf[keep:])
	s.buf = s.buf[:n]
	s.base += int64(keep)
	s.pos -= keep
	s.lineAt -= keep
}

// countLines advances the line counter to buf[upto].
func (s *Splitter) countLines(upto int) {
	if upto > s.lineAt {
		s.line += bytes.Count(s.buf[s.lineAt:upto], []byte{'\n'})
		s.lineAt = upto
	}
}

func (s *Splitter) lineOf(i int) int {
	s.countLines(i)
	return s.line
}

func (s *Splitter) syntax(i int, format string, args ...any) error {
	if s.err != nil {
		// The input ended because reading failed (or hit MaxBytes): that is
		// the error, not the truncation it caused.
		return s.err
	}
	return &SyntaxError{Line: s.lineOf(i), Msg: fmt.Sprintf(format, args...)}
}

// findFrom returns the index of sep at or after i in buf, reading more input
// as needed, or -1 at the end of input.
func (s *Splitter) findFrom(i int, sep []byte) int {
	for {
		if j := bytes.Index(s.buf[i:], sep); j >= 0 {
			return i + j
		}
		// Keep the tail that could be the start of sep.
		if !s.fill() {
			return -1
		}
	}
}

// Next returns the next chunk, or io.EOF after the root element closes.
// Errors other than io.EOF are final.
func (s *Splitter) Next() (*Chunk, error) {
	if !s.declDone {
		if err := s.detectEncoding(); err != nil {
			return nil, err
		}
	}
	var chunk *Chunk
	chunkStart, chunkDepth := -1, 0
	skipping := false // a too-large chunk: scan on without keeping bytes
	for {
		// Find the next tag.
		lt := -1
		for {
			if j := bytes.IndexByte(s.buf[s.pos:], '<'); j >= 0 {
				lt = s.pos + j
				break
			}
			s.pos = len(s.buf)
			if chunkStart < 0 {
				s.compact(s.pos)
			} else if skipping {
				s.compact(s.pos)
				chunkStart = 0
			}
			if !s.fill() {
				if s.err != nil {
					return nil, s.err
				}
				if chunkStart >= 0 || len(s.stack) > 0 {
					return nil, s.syntax(len(s.buf), "unexpected end of document inside <%s>", s.top())
				}
				if !s.started {
					return nil, s.syntax(len(s.buf), "no XML element in the document")
				}
				return nil, io.EOF
			}
		}
		// Drop consumed input now and then, not at every tag: each
		// compaction moves what is left in the buffer.
		if lt >= compactAt {
			if chunkStart < 0 {
				s.compact(lt)
				lt = 0
			} else if skipping {
				s.compact(lt)
				chunkStart, lt = 0, 0
			}
		}
		// Make sure the tag's opening bytes are buffered.
		for len(s.buf)-lt < 9 && s.fill() {
		}
		rest := s.buf[lt:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := s.findFrom(lt+4, []byte("-->"))
			if end < 0 {
				return nil, s.syntax(lt, "unterminated comment")
			}
			s.pos = end + 3
			continue
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := s.findFrom(lt+9, []byte("]]>"))
			if end < 0 {
				return nil, s.syntax(lt, "unterminated CDATA section")
			}
			s.pos = end + 3
			continue
		case bytes.HasPrefix(rest, []byte("<?")):
			end := s.findFrom(lt+2, []byte("?>"))
			if end < 0 {
				return nil, s.syntax(lt, "unterminated processing instruction")
			}
			s.pos = end + 2
			continue
		case bytes.HasPrefix(rest, []byte("<!")):
			// A DOCTYPE. OAI-PMH has none; one with an internal subset could
			// declare entities, which we refuse rather than resolve.
			end := s.findFrom(lt+2, []byte(">"))
			if end < 0 {
				return nil, s.syntax(lt, "unterminated declaration")
			}
			if bytes.IndexByte(s.buf[lt:end], '[') >= 0 {
				return nil, s.syntax(lt, "DOCTYPE with an internal subset is not accepted (entity declarations are never resolved)")
			}
			s.pos = end + 1
			continue
		}
		// A start or end tag: find its end, outside quoted attribute values.
		gt, err := s.tagEnd(lt)
		if err != nil {
			return nil, err
		}
		tag := s.buf[lt : gt+1]
		if tag[1] == '/' {
			name := bytes.TrimSpace(tag[2 : len(tag)-1])
			if len(s.stack) == 0 || s.stack[len(s.stack)-1].name != string(name) {
				return nil, s.syntax(lt, "end tag </%s> does not match <%s>", name, s.top())
			}
			s.stack = s.stack[:len(s.stack)-1]
			s.scopeValid = false
			s.pos = gt + 1
			if chunkStart >= 0 && len(s.stack) == chunkDepth {
				if skipping {
					chunk.Size = s.base + int64(s.pos) - chunk.Offset
					return chunk, nil
				}
				chunk.Raw = append([]byte(nil), s.buf[chunkStart:s.pos]...)
				chunk.Size = int64(len(chunk.Raw))
				return chunk, nil
			}
			continue
		}
		name, selfClosing := s.tagName(tag)
		if name == "" {
			return nil, s.syntax(lt, "malformed tag %.40q", tag)
		}
		s.started = true
		local := name
		if i := strings.IndexByte(name, ':'); i >= 0 {
			local = name[i+1:]
		}
		if chunkStart < 0 && chunkNames[local] {
			chunk = &Chunk{Name: local, Namespaces: s.inScope(), Line: s.lineOf(lt), Offset: s.base + int64(lt)}
			chunkStart, chunkDepth = lt, len(s.stack)
			if selfClosing {
				s.pos = gt + 1
				chunk.Raw = append([]byte(nil), tag...)
				chunk.Size = int64(len(tag))
				return chunk, nil
			}
		}
		if !selfClosing {
			var ns map[string]string
			if chunkStart < 0 || len(s.stack) == chunkDepth {
				ns = declarations(tag)
			}
			s.stack = append(s.stack, frame{name: name, ns: ns})
			s.scopeValid = false
		}
		s.pos = gt + 1
		if chunkStart >= 0 && !skipping && s.pos-chunkStart > s.opts.MaxChunkSize {
			skipping = true
			chunk.TooLarge = true
		}
	}
}

func (s *Splitter) top() string {
	if len(s.stack) == 0 {
		return ""
	}
	return s.stack[len(s.stack)-1].name
}

// inScope collects the namespace declarations of the open elements. The
// map is shared by every chunk cut at the same place in the tree (chunks
// must not modify it), so a list of records costs one map, not one each.
func (s *Splitter) inScope() map[string]string {
	if s.scopeValid && s.scopeDepth == len(s.stack) {
		return s.scope
	}
	var m map[string]string
	for _, f := range s.stack {
		for k, v := range f.ns {
			if m == nil {
				m = make(map[string]string)
			}
			m[k] = v
		}
	}
	s.scope, s.scopeDepth, s.scopeValid = m, len(s.stack), true
	return m
}

// tagEnd returns the index of the '>' closing the tag that starts at lt.
func (s *Splitter) tagEnd(lt int) (int, error) {
	var quote byte
	i := lt + 1
	for {
		for ; i < len(s.buf); i++ {
			c := s.buf[i]
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '>':
				return i, nil
			case c == '<':
				return 0, s.syntax(i, "'<' inside a tag")
			}
		}
		if !s.fill() {
			return 0, s.syntax(lt, "unterminated tag")
		}
	}
}

// tagName returns the qualified name of a start tag and whether it closes
// itself.
func (s *Splitter) tagName(tag []byte) (string, bool) {
	inner := tag[1 : len(tag)-1]
	self := len(inner) > 0 && inner[len(inner)-1] == '/'
	end := 0
	for end < len(inner) {
		c := inner[end]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/' {
			break
		}
		end++
	}
	n := inner[:end]
	if name, ok := s.names[string(n)]; ok {
		return name, self
	}
	name := string(n)
	if s.names == nil {
		s.names = make(map[string]string)
	}
	if len(s.names) < 1024 {
		s.names[name] = name
	}
	return name, self
}

// declarations returns the xmlns declarations of a start tag.
func declarations(tag []byte) map[string]string {
	if !bytes.Contains(tag, []byte("xmlns")) {
		return nil
	}
	var m map[string]string
	rest := tag
	for {
		i := bytes.Index(rest, []byte("xmlns"))
		if i < 0 {
			return m
		}
		// Must start an attribute name.
		if i == 0 || !isSpace(rest[i-1]) {
			rest = rest[i+5:]
			continue
		}
		rest = rest[i+5:]
		prefix := ""
		if len(rest) > 0 && rest[0] == ':' {
			j := 1
			for j < len(rest) && !isSpace(rest[j]) && rest[j] != '=' {
				j++
			}
			prefix = string(rest[1:j])
			rest = rest[j:]
		}
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(rest) == 0 || rest[0] != '=' {
			continue
		}
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
			continue
		}
		q := rest[0]
		j := bytes.IndexByte(rest[1:], q)
		if j < 0 {
			return m
		}
		if m == nil {
			m = make(map[string]string)
		}
		m[prefix] = unescapeAttr(string(rest[1 : 1+j]))
		rest = rest[1+j+1:]
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func unescapeAttr(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'").Replace(s)
}
