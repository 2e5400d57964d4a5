package harvest

import (
	"bytes"
	"strings"
)

// fastProvenance reads a provenance container in the form providers write
// it (ours included): a <provenance> root whose children are nested
// <originDescription> elements with their four text fields, no prefixes,
// no comments, no CDATA, no entity but the five predefined ones. It is
// the harvester's fast path: a node re-exposing harvested records sends
// one container per record, and tokenizing it was 5% of a harvest's CPU.
// ok is false for anything else; the caller then parses with a full
// tokenizer, which decides. The container was already checked to be
// well-formed when its record was parsed.
func fastProvenance(a []byte) (o *originDescription, ok bool) {
	p := provParser{b: a}
	p.space()
	if !p.startTag("provenance") {
		return nil, false
	}
	for {
		p.space()
		if p.endTag("provenance") {
			p.space()
			return o, p.pos == len(p.b)
		}
		if o != nil || !p.startTag("originDescription") {
			// A second origin at the top, or another element: the full
			// reader decides which one counts.
			return nil, false
		}
		if o, ok = p.origin(0); !ok {
			return nil, false
		}
	}
}

type provParser struct {
	b   []byte
	pos int
	// attrs of the last start tag: harvestDate and altered.
	harvestDate, altered string
	self                 bool // the last start tag closed itself
}

func (p *provParser) space() {
	for p.pos < len(p.b) {
		switch p.b[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// startTag consumes <name attrs> or <name attrs/>, keeping the
// harvestDate and altered attributes.
func (p *provParser) startTag(name string) bool {
	rest := p.b[p.pos:]
	if len(rest) < len(name)+2 || rest[0] != '<' || string(rest[1:1+len(name)]) != name {
		return false
	}
	i := 1 + len(name)
	p.harvestDate, p.altered, p.self = "", "", false
	for {
		j := i
		for j < len(rest) && isSpaceByte(rest[j]) {
			j++
		}
		if j >= len(rest) {
			return false
		}
		switch rest[j] {
		case '>':
			p.pos += j + 1
			return true
		case '/':
			if j+1 < len(rest) && rest[j+1] == '>' {
				p.pos += j + 2
				p.self = true
				return true
			}
			return false
		}
		if j == i {
			return false // no space before an attribute: not this tag
		}
		// name="value"
		k := j
		for k < len(rest) && rest[k] != '=' && !isSpaceByte(rest[k]) && rest[k] != '>' {
			k++
		}
		attr := rest[j:k]
		for k < len(rest) && isSpaceByte(rest[k]) {
			k++
		}
		if k >= len(rest) || rest[k] != '=' {
			return false
		}
		k++
		for k < len(rest) && isSpaceByte(rest[k]) {
			k++
		}
		if k >= len(rest) || (rest[k] != '"' && rest[k] != '\'') {
			return false
		}
		end := bytes.IndexByte(rest[k+1:], rest[k])
		if end < 0 {
			return false
		}
		val := rest[k+1 : k+1+end]
		if bytes.IndexByte(val, '&') >= 0 || bytes.IndexByte(val, '<') >= 0 {
			return false
		}
		if bytes.HasSuffix(attr, []byte(":harvestDate")) || bytes.HasSuffix(attr, []byte(":altered")) {
			return false // the full reader matches local names
		}
		switch string(attr) {
		case "harvestDate":
			p.harvestDate = string(val)
		case "altered":
			p.altered = string(val)
		}
		i = k + 1 + end + 1
	}
}

// endTag consumes </name>.
func (p *provParser) endTag(name string) bool {
	rest := p.b[p.pos:]
	if len(rest) < len(name)+3 || rest[0] != '<' || rest[1] != '/' || string(rest[2:2+len(name)]) != name {
		return false
	}
	j := 2 + len(name)
	for j < len(rest) && isSpaceByte(rest[j]) {
		j++
	}
	if j >= len(rest) || rest[j] != '>' {
		return false
	}
	p.pos += j + 1
	return true
}

// origin reads an originDescription whose start tag was just read.
func (p *provParser) origin(depth int) (*originDescription, bool) {
	if depth >= 20 {
		return nil, false
	}
	o := &originDescription{HarvestDate: p.harvestDate, Altered: p.altered}
	if p.self {
		return o, true
	}
	seen := 0
	for {
		p.space()
		if p.endTag("originDescription") {
			return o, true
		}
		if p.startTag("originDescription") {
			if o.Origin != nil {
				return nil, false
			}
			var ok bool
			if o.Origin, ok = p.origin(depth + 1); !ok {
				return nil, false
			}
			continue
		}
		var field *string
		var bit int
		for i, f := range [...]struct {
			name string
			dst  *string
		}{{"baseURL", &o.BaseURL}, {"identifier", &o.Identifier}, {"datestamp", &o.Datestamp}, {"metadataNamespace", &o.MetadataNamespace}} {
			if p.startTag(f.name) {
				field, bit = f.dst, 1<<i
				if !p.self {
					text, ok := p.text(f.name)
					if !ok {
						return nil, false
					}
					*field = text
				}
				break
			}
		}
		if field == nil || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
	}
}

// text reads character data up to </name>.
func (p *provParser) text(name string) (string, bool) {
	end := bytes.IndexByte(p.b[p.pos:], '<')
	if end < 0 {
		return "", false
	}
	raw := p.b[p.pos : p.pos+end]
	p.pos += end
	if !p.endTag(name) {
		return "", false
	}
	if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return string(raw), true
	}
	return unescapeText(raw)
}

// unescapeText decodes the five predefined entities and normalises line
// ends; anything else is left to the full reader.
func unescapeText(raw []byte) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '\r':
			b.WriteByte('\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			continue
		case '&':
		default:
			b.WriteByte(c)
			continue
		}
		end := bytes.IndexByte(raw[i:], ';')
		if end < 0 {
			return "", false
		}
		switch string(raw[i+1 : i+end]) {
		case "amp":
			b.WriteByte('&')
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			return "", false
		}
		i += end
	}
	return b.String(), true
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
