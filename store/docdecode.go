package store

// A hand-written JSON decoder for record documents, the other half of
// docjson.go.
//
// It exists for speed: json.Unmarshal of a document took about 22 µs, 2.2 s
// of CPU per 100,000 records the search indexer read back of a harvest
// (BenchmarkDecodeDoc: 18 µs and 54 allocations for a generated record, 3.0
// µs and 40 here, one for each string and slice). Its contract is
// exactness: decodeDoc fills a Record exactly as json.Unmarshal does, and
// fails exactly when it fails, with its error. A fast path decodes the
// documents the encoder writes and the variations JSON allows in them
// (string escapes, invalid UTF-8, whitespace, members in any order, null
// members); on anything else (an unknown or differently cased member name,
// a duplicate member, a value of another type, a syntax error, a time
// time.Time refuses) it gives up and decodeDoc calls json.Unmarshal on a
// fresh Record, so that whatever encoding/json does in such cases, decodeDoc
// does too. TestDecodeDocAsJSON guards the equality on the encoder's random
// records, which it fills by reflection: a field added to Record and not
// here makes the fast path give up on every document that has it, which the
// test reports; TestDecodeDocTable and FuzzDecodeDoc guard the rest.
//
// Every string is allocated on its own, as encoding/json allocates them: no
// string of a Record keeps the document, or another string, alive.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeDoc decodes a document into r, a zero Record, as json.Unmarshal
// does.
func decodeDoc(doc []byte, r *Record) error {
	if decodeDocFast(doc, r) {
		return nil
	}
	*r = Record{}
	return json.Unmarshal(doc, r)
}

// decodeDocFast decodes doc into r, a zero Record, and reports whether it
// could, which it can when json.Unmarshal would succeed and do what it
// does. When it reports false, r holds part of the document.
func decodeDocFast(doc []byte, r *Record) bool {
	d := docDecoders.Get().(*docDecoder)
	d.b, d.i = doc, 0
	ok := d.record(r) && d.peek() == 0 && d.i == len(d.b) // whitespace only after the value
	d.b = nil
	docDecoders.Put(d)
	return ok
}

// docDecoder reads a document. Its methods report false on anything they
// do not decode exactly as encoding/json does, and decodeDoc then leaves
// the document to json.Unmarshal.
type docDecoder struct {
	b []byte
	i int // the next byte to read

	// Arrays are decoded into these, then copied into a slice of their
	// length (see array). Empty between uses.
	strs         []string
	texts        []Text
	persons      []Person
	subjects     []Subject
	identifiers  []Identifier
	relations    []Relation
	files        []File
	provenances  []Provenance
	originalList []Original
}

var docDecoders = sync.Pool{New: func() any { return new(docDecoder) }}

// peek skips whitespace and returns the next byte, or 0 at the end (a 0
// byte outside a string is not JSON either).
func (d *docDecoder) peek() byte {
	for d.i < len(d.b) {
		switch c := d.b[d.i]; c {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return c
		}
	}
	return 0
}

// open consumes the '{' of an object and reports whether a member follows
// (false when the object was "{}", its '}' consumed too); ok is false if no
// object comes next.
func (d *docDecoder) open() (members, ok bool) {
	if d.peek() != '{' {
		return false, false
	}
	d.i++
	if d.peek() == '}' {
		d.i++
		return false, true
	}
	return true, true
}

// name reads a member name and the colon after it. Names with escapes are
// not ours: they give up.
func (d *docDecoder) name() ([]byte, bool) {
	if d.peek() != '"' {
		return nil, false
	}
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			if d.peek() != ':' {
				return nil, false
			}
			d.i++
			return d.b[start:j], true
		case c == '\\' || c < ' ':
			return nil, false
		}
	}
	return nil, false
}

// next consumes what follows a member value: a comma (more is true) or the
// object's closing brace.
func (d *docDecoder) next() (more, ok bool) {
	switch d.peek() {
	case ',':
		d.i++
		return true, true
	case '}':
		d.i++
		return false, true
	}
	return false, false
}

// literal consumes lit, which starts with the byte peek returned.
func (d *docDecoder) literal(lit string) bool {
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		return false
	}
	d.i += len(lit)
	return true
}

// nullable checks the start of a value that a null may replace: open is
// '{' or '['. isNull is true if a null was consumed, ok false if neither a
// null nor open comes next.
func (d *docDecoder) nullable(open byte) (isNull, ok bool) {
	switch d.peek() {
	case open:
		return false, true
	case 'n':
		return true, d.literal("null")
	}
	return false, false
}

// str decodes a string into *s; a null leaves it, as encoding/json does.
func (d *docDecoder) str(s *string) bool {
	switch d.peek() {
	case '"':
		v, ok := d.stringValue()
		*s = v
		return ok
	case 'n':
		return d.literal("null")
	}
	return false
}

// safeRun returns the index of the first byte of b at or after j that is
// not printable ASCII or is '"' or '\\', or len(b): the end of what a
// string holds as it is. It tests eight bytes at a time.
func safeRun(b []byte, j int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; j+8 <= len(b); j += 8 {
		x := binary.LittleEndian.Uint64(b[j:])
		// The high bit of a byte of m is set if the byte is 0x80 or
		// above, below 0x20 (x-0x20 borrows), '"' or '\\' (the XOR is 0 and
		// minus 1 borrows). A borrow sets bits in the bytes above too,
		// but the lowest set bit is always the first such byte.
		m := (x | (x - ones*0x20) | (x ^ ones*'"' - ones) | (x ^ ones*'\\' - ones)) & highs
		if m != 0 {
			return j + bits.TrailingZeros64(m)/8
		}
	}
	for ; j < len(b); j++ {
		if c := b[j]; c < ' ' || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return j
		}
	}
	return j
}

// stringValue decodes the string whose opening quote is at d.i, as
// encoding/json unquotes it.
func (d *docDecoder) stringValue() (string, bool) {
	start := d.i + 1
	b := d.b
	for j := start; ; {
		if j = safeRun(b, j); j >= len(b) {
			return "", false
		}
		switch c := b[j]; {
		case c == '"':
			d.i = j + 1
			return string(b[start:j]), true
		case c < utf8.RuneSelf: // an escape or a control character
			return d.unquote(start, j)
		}
		r, size := utf8.DecodeRune(b[j:])
		if r == utf8.RuneError && size == 1 {
			return d.unquote(start, j)
		}
		j += size
	}
}

// unquote decodes the string that starts at start and has nothing to
// unescape or replace before from, as encoding/json's unquoteBytes does:
// escapes, surrogate pairs, and U+FFFD for invalid UTF-8 and lone
// surrogates.
func (d *docDecoder) unquote(start, from int) (string, bool) {
	b := d.b
	// Find the closing quote first, to size the result: unescaping shortens
	// a string, and only invalid UTF-8 lengthens it.
	end := from
	for {
		if end = safeRun(b, end); end >= len(b) {
			return "", false
		}
		c := b[end]
		if c == '"' {
			break
		}
		if c < ' ' {
			return "", false
		}
		if c == '\\' {
			end++
		}
		end++
	}
	var sb strings.Builder
	sb.Grow(end - start)
	run := start // bytes copied as they are from run to j
	for j := from; j < end; {
		c := b[j]
		switch {
		case c == '\\':
			sb.Write(b[run:j])
			switch b[j+1] {
			case '"', '\\', '/':
				sb.WriteByte(b[j+1])
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r := hex4(b[j+2 : end])
				if r < 0 {
					return "", false
				}
				j += 6
				if utf16.IsSurrogate(r) {
					// A pair if a low surrogate follows a high one; U+FFFD
					// otherwise, and what follows is decoded on its own.
					var r2 rune = -1
					if end-j >= 6 && b[j] == '\\' && b[j+1] == 'u' {
						r2 = hex4(b[j+2 : end])
					}
					if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
						j += 6
						r = dec
					} else {
						r = unicode.ReplacementChar
					}
				}
				sb.WriteRune(r)
				run = j
				continue
			default:
				return "", false
			}
			j += 2
			run = j
		case c < utf8.RuneSelf:
			j = safeRun(b[:end], j+1)
		default:
			r, size := utf8.DecodeRune(b[j:end])
			if r == utf8.RuneError && size == 1 {
				sb.Write(b[run:j])
				sb.WriteRune(utf8.RuneError)
				run = j + 1
			}
			j += size
		}
	}
	sb.Write(b[run:end])
	d.i = end + 1
	return sb.String(), true
}

// hex4 returns the value of the 4 hex digits b starts with, or -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// boolean decodes true or false into *v; a null leaves it.
func (d *docDecoder) boolean(v *bool) bool {
	switch d.peek() {
	case 't':
		*v = true
		return d.literal("true")
	case 'f':
		*v = false
		return d.literal("false")
	case 'n':
		return d.literal("null")
	}
	return false
}

// integer decodes an integer into *v; a null leaves it. Numbers with a
// fraction or an exponent, which encoding/json refuses for an int64, and
// numbers out of range give up.
func (d *docDecoder) integer(v *int64) bool {
	c := d.peek()
	if c == 'n' {
		return d.literal("null")
	}
	b := d.b
	j := d.i
	neg := c == '-'
	if neg {
		j++
	}
	start := j
	var u uint64
	for ; j < len(b) && '0' <= b[j] && b[j] <= '9'; j++ {
		if u > (1<<63)/10 {
			return false
		}
		u = u*10 + uint64(b[j]-'0')
	}
	switch {
	case j == start, b[start] == '0' && j > start+1: // no digits, a leading zero
		return false
	case j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E'):
		return false
	case neg && u > 1<<63, !neg && u > 1<<63-1:
		return false
	}
	if neg {
		*v = -int64(u)
	} else {
		*v = int64(u)
	}
	d.i = j
	return true
}

// zeroTime is the zero time.Time as JSON, as every document has it.
const zeroTime = `"0001-01-01T00:00:00Z"`

// timestamp decodes a time as encoding/json does, with time.Time.UnmarshalJSON
// on the string as it is; a null leaves it.
func (d *docDecoder) timestamp(t *time.Time) bool {
	switch d.peek() {
	case '"':
	case 'n':
		return d.literal("null")
	default:
		return false
	}
	start := d.i
	j := bytes.IndexByte(d.b[start+1:], '"')
	if j < 0 {
		return false
	}
	d.i = start + 1 + j + 1
	raw := d.b[start:d.i]
	for _, c := range raw[1 : len(raw)-1] {
		if c < ' ' || c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	if string(raw) == zeroTime {
		*t = time.Time{}
		return true
	}
	return t.UnmarshalJSON(raw) == nil
}

// array decodes an array into *p, each element with elem: into *scratch,
// then copied into a slice of its length; empty but not nil for [], as
// encoding/json decodes it. A null sets *p to nil. An array of the type of
// one being decoded (none is, today) gets a scratch slice of its own.
func array[T any](d *docDecoder, p *[]T, scratch *[]T, elem func(*docDecoder, *T) bool) bool {
	if isNull, ok := d.nullable('['); !ok || isNull {
		*p = nil
		return ok
	}
	d.i++ // the '['
	if d.peek() == ']' {
		d.i++
		*p = []T{}
		return true
	}
	s := *scratch
	*scratch = nil
	ok := false
	for {
		var zero T
		s = append(s, zero)
		if !elem(d, &s[len(s)-1]) {
			break
		}
		if c := d.peek(); c == ',' {
			d.i++
			continue
		} else if c == ']' {
			d.i++
			*p = append(make([]T, 0, len(s)), s...)
			ok = true
		}
		break
	}
	clear(s)
	if cap(s) <= 256 {
		*scratch = s[:0]
	}
	return ok
}

func (d *docDecoder) stringList(p *[]string) bool { return array(d, p, &d.strs, (*docDecoder).str) }

// seen adds a member, by its bit, to the set of those an object had, and
// reports whether it was there already: duplicates give up (encoding/json
// decodes the second into what the first left).
func seen(set *uint32, bit uint) bool {
	if *set&(1<<bit) != 0 {
		return true
	}
	*set |= 1 << bit
	return false
}

// object decodes an object, or a null (which leaves the value as it is,
// as encoding/json does), calling member with each member's name. member
// decodes the member's value and returns its bit (see seen); it gives up
// on a name it does not know.
func (d *docDecoder) object(member func(name []byte) (bit uint, ok bool)) bool {
	if isNull, ok := d.nullable('{'); !ok || isNull {
		return ok
	}
	more, ok := d.open()
	if !ok {
		return false
	}
	var set uint32
	for more {
		name, ok := d.name()
		if !ok {
			return false
		}
		bit, ok := member(name)
		if !ok || seen(&set, bit) {
			return false
		}
		if more, ok = d.next(); !ok {
			return false
		}
	}
	return true
}

func (d *docDecoder) record(r *Record) bool {
	if d.peek() != '{' { // a document is an object; a null is left to encoding/json
		return false
	}
	return d.object(func(name []byte) (uint, bool) {
		switch string(name) {
		case "id":
			return 0, d.str(&r.ID)
		case "oai_identifier":
			return 1, d.str(&r.OAIIdentifier)
		case "datestamp":
			return 2, d.timestamp(&r.Datestamp)
		case "deleted":
			return 3, d.boolean(&r.Deleted)
		case "sets":
			return 4, d.stringList(&r.Sets)
		case "oai_sets":
			return 5, d.stringList(&r.OAISets)
		case "origin":
			return 6, d.str(&r.Origin)
		case "metadata":
			return 7, d.metadata(&r.Metadata)
		case "provenance":
			return 8, array(d, &r.Provenance, &d.provenances, (*docDecoder).provenance)
		case "originals":
			return 9, array(d, &r.Originals, &d.originalList, (*docDecoder).original)
		}
		return 0, false
	})
}

func (d *docDecoder) metadata(m *Metadata) bool {
	return d.object(func(name []byte) (uint, bool) {
		switch string(name) {
		case "titles":
			return 0, array(d, &m.Titles, &d.texts, (*docDecoder).text)
		case "creators":
			return 1, array(d, &m.Creators, &d.persons, (*docDecoder).person)
		case "contributors":
			return 2, array(d, &m.Contributors, &d.persons, (*docDecoder).person)
		case "subjects":
			return 3, array(d, &m.Subjects, &d.subjects, (*docDecoder).subject)
		case "descriptions":
			return 4, array(d, &m.Descriptions, &d.texts, (*docDecoder).text)
		case "publisher":
			return 5, d.str(&m.Publisher)
		case "issued":
			return 6, d.str(&m.Issued)
		case "created":
			return 7, d.str(&m.Created)
		case "type":
			return 8, d.str(&m.Type)
		case "type_uri":
			return 9, d.str(&m.TypeURI)
		case "identifiers":
			return 10, array(d, &m.Identifiers, &d.identifiers, (*docDecoder).identifier)
		case "languages":
			return 11, d.stringList(&m.Languages)
		case "license":
			return 12, d.str(&m.License)
		case "license_spdx":
			return 13, d.str(&m.LicenseSPDX)
		case "rights":
			return 14, array(d, &m.Rights, &d.texts, (*docDecoder).text)
		case "access_rights":
			return 15, d.str(&m.AccessRights)
		case "access_rights_uri":
			return 16, d.str(&m.AccessRightsURI)
		case "relations":
			return 17, array(d, &m.Relations, &d.relations, (*docDecoder).relation)
		case "files":
			return 18, array(d, &m.Files, &d.files, (*docDecoder).file)
		}
		return 0, false
	})
}

func (d *docDecoder) text(t *Text) bool {
	return d.object(func(name []byte) (uint, bool) {
		switch string(name) {
		case "value":
			return 0, d.str(&t.Value)
		case "lang":
			return 1, d.str(&t.Lang)
		}
		return 0, false
	})
}

func (d *docDecoder) person(p *Person) bool {
	return d.object(func(name []byte) (uint, bool) {
		switch string(name) {
		case "name":
			return 0, d.str(&p.Name)
		case "orcid":
			return 1, d.str(&p.ORCID)
		case "identifiers":
			return 2, array(d, &p.Identifiers, &d.identifiers, (*docDecoder).identifier)
		case "affiliation":
			return 3, d.str(&p.Affiliation)
		case "role":
			return 4, d.str(&p.Role)
		}
		return 0, false
	})
}

func (d *docDecoder) subject(s *Subject) bool {
	return d.object(func(name []byte) (uint, bool) {
		switch string(name) {
		case "value":
			return 0, d.str(&s.Value)
		case "lang":
			return 1, d.str(&s.Lang)
		case "uri":
			return 2, d.str(&s.URI)
		case "scheme":
			return 3, d.str(&s.Scheme)
		}
		return 0, false
	})
}

func (d *docDecoder) identifier(id *Identifier) bool {
	return d.object(func(name []byte) (uint, bool) {
		switch string(name) {
		case "scheme":
			return 0, d.str(&id.Scheme)
		case "value":
			return 1, d.str(&id.Value)
		}
		return 0, false
	})
}

func (d *docDecoder) relation(rel *Relation) bool {
	return d.object(func(name []byte) (uint, bool) {
		switch string(name) {
		case "type":
			return 0, d.str(&rel.Type)
		case "scheme":
			return 1, d.str(&rel.Scheme)
		case "value":
			return 2, d.str(&rel.Value)
		}
		return 0, false
	})
}

func (d *docDecoder) file(f *File) bool {
	return d.object(func(name []byte) (uint, bool) {
		switch string(name) {
		case "url":
			return 0, d.str(&f.URL)
		case "type":
			return 1, d.str(&f.Type)
		case "size":
			return 2, d.integer(&f.Size)
		case "name":
			return 3, d.str(&f.Name)
		case "checksum":
			return 4, d.str(&f.Checksum)
		}
		return 0, false
	})
}

func (d *docDecoder) provenance(p *Provenance) bool {
	return d.object(func(name []byte) (uint, bool) {
		switch string(name) {
		case "base_url":
			return 0, d.str(&p.BaseURL)
		case "identifier":
			return 1, d.str(&p.Identifier)
		case "datestamp":
			return 2, d.str(&p.Datestamp)
		case "harvest_date":
			return 3, d.timestamp(&p.HarvestDate)
		case "metadata_namespace":
			return 4, d.str(&p.MetadataNamespace)
		case "altered":
			return 5, d.boolean(&p.Altered)
		}
		return 0, false
	})
}

func (d *docDecoder) original(o *Original) bool {
	return d.object(func(name []byte) (uint, bool) {
		switch string(name) {
		case "prefix":
			return 0, d.str(&o.Prefix)
		case "namespace":
			return 1, d.str(&o.Namespace)
		case "schema":
			return 2, d.str(&o.Schema)
		case "namespaces":
			return 3, d.stringMap(&o.Namespaces)
		}
		return 0, false
	})
}

// stringMap decodes an object of strings into a new map: empty but not nil
// for {}, as encoding/json decodes it. A null sets *p to nil; a null member
// is the empty string; of duplicate members the last one counts.
func (d *docDecoder) stringMap(p *map[string]string) bool {
	if isNull, ok := d.nullable('{'); !ok || isNull {
		*p = nil
		return ok
	}
	m := make(map[string]string)
	*p = m
	more, ok := d.open()
	for ok && more {
		if d.peek() != '"' {
			return false
		}
		var k, v string
		if k, ok = d.stringValue(); !ok || d.peek() != ':' {
			return false
		}
		d.i++
		if !d.str(&v) {
			return false
		}
		m[k] = v
		more, ok = d.next()
	}
	return ok
}
