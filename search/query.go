package search

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The query language. A query is a boolean expression of clauses:
//
//	glacier melt              words: every word must match (AND is implicit)
//	"mass balance"            a phrase: the words in this order
//	title:glacier             a word in one field; title:"mass balance" a phrase
//	year:2010..2020           a year range; year:2010.. and year:..2020 are open
//	a OR b, a AND b, NOT a    operators, upper case; AND binds tighter than OR
//	-a, +a                    -a excludes, +a requires (the default)
//	( ... ), title:( ... )    grouping; a field before a group applies inside
//
// Fields: title, creator (alias author), subject, description (alias
// abstract), identifier (alias id; doi, handle, arxiv, isbn, orcid are
// identifier searches of that scheme), type, language (alias lang), year,
// license (alias licence), origin, set. Text fields (title, creator,
// subject, description and the default) are analysed like the index; the
// others match a normalised value exactly (case and accents ignored for
// type; a concept URI for subject and type). An empty query matches every
// record. A word that names no field before a colon ("urn:nbn:de:...",
// "http://...") is a plain word.
//
// ParseQuery reports the first error with its character offset.

// maxQueryLen bounds a query in bytes; maxClauses bounds its words.
const (
	maxQueryLen = 2048
	maxClauses  = 64
	maxDepth    = 16
)

// ParseError is a query syntax error.
type ParseError struct {
	// Pos is the offset, in characters from 0, where the error is.
	Pos int
	Msg string
}

func (e *ParseError) Error() string { return fmt.Sprintf("at character %d: %s", e.Pos, e.Msg) }

// Query is a parsed query.
type Query struct {
	root node // nil: every record
}

// String returns the query in canonical form.
func (q *Query) String() string {
	if q.root == nil {
		return "*"
	}
	return q.root.String()
}

// IsEmpty reports whether the query matches every record.
func (q *Query) IsEmpty() bool { return q.root == nil }

type node interface{ String() string }

// wordNode is a word (or, after analysis, several terms) in a field; field
// is "" for the default fields.
type wordNode struct {
	field  string
	text   string
	phrase bool
	terms  []string // Terms(text), for text fields
}

func (n *wordNode) String() string {
	v := n.text
	if n.phrase || strings.ContainsAny(v, " \t\"():") || v == "" || strings.HasPrefix(v, "-") || strings.HasPrefix(v, "+") ||
		v == "AND" || v == "OR" || v == "NOT" || v == "&&" || v == "||" {
		v = `"` + v + `"` // a phrase or word never holds a quote mark
	}
	if n.field != "" {
		return n.field + ":" + v
	}
	return v
}

type rangeNode struct {
	field  string
	lo, hi int // inclusive; 0 and 9999 when open
}

func (n *rangeNode) String() string {
	lo, hi := strconv.Itoa(n.lo), strconv.Itoa(n.hi)
	if n.lo == 0 {
		lo = ""
	}
	if n.hi == 9999 {
		hi = ""
	}
	return n.field + ":" + lo + ".." + hi
}

type andNode struct{ kids []node }
type orNode struct{ kids []node }
type notNode struct{ kid node }

func (n *andNode) String() string { return "(" + joinNodes(n.kids, " AND ") + ")" }
func (n *orNode) String() string  { return "(" + joinNodes(n.kids, " OR ") + ")" }
func (n *notNode) String() string { return "NOT " + n.kid.String() }

func joinNodes(ns []node, sep string) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.String()
	}
	return strings.Join(s, sep)
}

// fieldAliases maps the field names a query may use to index fields.
var fieldAliases = map[string]string{
	"title": fieldTitle, "creator": fieldCreator, "author": fieldCreator,
	"subject": fieldSubject, "description": fieldDescription, "abstract": fieldDescription,
	"identifier": fieldIdentifier, "id": fieldIdentifier,
	"doi": "doi", "handle": "handle", "arxiv": "arxiv", "isbn": "isbn", "orcid": fieldORCID,
	"type": fieldType, "language": fieldLanguage, "lang": fieldLanguage, "year": fieldYear,
	"license": fieldLicense, "licence": fieldLicense, "origin": fieldOrigin, "set": fieldSet,
}

// plainPrefixes before a colon make a plain word, not a field.
var plainPrefixes = map[string]bool{"http": true, "https": true, "urn": true, "info": true, "ark": true, "hdl": true, "ftp": true, "mailto": true, "oai": true}

// isTextField reports whether a field is analysed.
func isTextField(f string) bool {
	switch f {
	case "", fieldTitle, fieldCreator, fieldSubject, fieldDescription:
		return true
	}
	return false
}

// ParseQuery parses a query. Errors are *ParseError.
func ParseQuery(s string) (*Query, error) {
	if len(s) > maxQueryLen {
		return nil, &ParseError{Pos: utf8.RuneCountInString(s[:maxQueryLen]), Msg: fmt.Sprintf("the query is longer than %d bytes", maxQueryLen)}
	}
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return nil, &ParseError{Pos: utf8.RuneCountInString(s[:i]), Msg: "the query is not valid UTF-8"}
	}
	p := &parser{src: s}
	p.lex()
	if p.err != nil {
		return nil, p.err
	}
	if len(p.toks) == 0 {
		return &Query{}, nil
	}
	n := p.parseOr("", 0)
	if p.err != nil {
		return nil, p.err
	}
	if p.i < len(p.toks) {
		t := p.toks[p.i]
		if t.kind == tokRParen {
			return nil, p.errAt(t.pos, "unexpected ) without a matching (")
		}
		return nil, p.errAt(t.pos, "unexpected "+t.describe())
	}
	if p.clauses > maxClauses {
		return nil, p.errAt(0, fmt.Sprintf("the query has %d words; at most %d are allowed", p.clauses, maxClauses))
	}
	return &Query{root: simplify(n)}, nil
}

type tokKind int

const (
	tokWord tokKind = iota
	tokPhrase
	tokField // text is the field name; the ':' is consumed
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokNot
	tokMinus
	tokPlus
)

type token struct {
	kind tokKind
	text string
	pos  int // byte offset
	// glued is true when the token follows the previous one with no space
	// (a field's value, the word after - or +).
	glued bool
}

func (t token) describe() string {
	switch t.kind {
	case tokWord:
		return fmt.Sprintf("word %q", t.text)
	case tokPhrase:
		return fmt.Sprintf("phrase %q", t.text)
	case tokField:
		return fmt.Sprintf("field %q", t.text+":")
	case tokLParen:
		return "("
	case tokRParen:
		return ")"
	case tokAnd:
		return "AND"
	case tokOr:
		return "OR"
	case tokNot:
		return "NOT"
	case tokMinus:
		return "-"
	}
	return "+"
}

type parser struct {
	src     string
	toks    []token
	i       int
	err     *ParseError
	clauses int
}

func (p *parser) errAt(bytePos int, msg string) *ParseError {
	if p.err == nil {
		if bytePos > len(p.src) {
			bytePos = len(p.src)
		}
		p.err = &ParseError{Pos: utf8.RuneCountInString(p.src[:bytePos]), Msg: msg}
	}
	return p.err
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

// lex splits the query into tokens.
func (p *parser) lex() {
	s := p.src
	i := 0
	prevEnd := -1
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if isSpace(r) {
			i += size
			continue
		}
		glued := i == prevEnd
		start := i
		switch r {
		case '(':
			p.toks = append(p.toks, token{kind: tokLParen, pos: i, glued: glued})
			i++
		case ')':
			p.toks = append(p.toks, token{kind: tokRParen, pos: i, glued: glued})
			i++
		case '"', '“', '”', '„':
			j := i + size
			end := -1
			for k := j; k < len(s); {
				r2, sz := utf8.DecodeRuneInString(s[k:])
				if r2 == '"' || r2 == '“' || r2 == '”' {
					end = k
					i = k + sz
					break
				}
				k += sz
			}
			if end < 0 {
				p.errAt(start, "this quote is not closed")
				return
			}
			p.toks = append(p.toks, token{kind: tokPhrase, text: s[j:end], pos: start, glued: glued})
		case '-', '+':
			// An operator only at the start of a word: "high-resolution"
			// is one word.
			if !glued && i+size < len(s) {
				if r2, _ := utf8.DecodeRuneInString(s[i+size:]); !isSpace(r2) {
					k := tokMinus
					if r == '+' {
						k = tokPlus
					}
					p.toks = append(p.toks, token{kind: k, pos: i, glued: glued})
					i += size
					break
				}
			}
			fallthrough
		default:
			j := i
			for j < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[j:])
				if isSpace(r2) || r2 == '(' || r2 == ')' || r2 == '"' || r2 == '“' || r2 == '”' || r2 == '„' {
					break
				}
				if r2 == ':' && j > i && isFieldName(s[i:j], s[j+1:]) {
					break
				}
				j += sz
			}
			word := s[i:j]
			if j < len(s) && s[j] == ':' && j > i {
				p.toks = append(p.toks, token{kind: tokField, text: strings.ToLower(word), pos: i, glued: glued})
				i = j + 1
				prevEnd = i
				continue
			}
			if j == i {
				// A lone opening quote mark of another kind, or similar.
				i += size
				continue
			}
			k := tokWord
			switch word {
			case "AND", "&&":
				k = tokAnd
			case "OR", "||":
				k = tokOr
			case "NOT":
				k = tokNot
			}
			p.toks = append(p.toks, token{kind: k, text: word, pos: i, glued: glued})
			i = j
		}
		prevEnd = i
	}
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *parser) parseOr(field string, depth int) node {
	if depth > maxDepth {
		t, _ := p.peek()
		p.errAt(t.pos, fmt.Sprintf("the query nests deeper than %d levels", maxDepth))
		return nil
	}
	var kids []node
	for {
		n := p.parseAnd(field, depth)
		if p.err != nil {
			return nil
		}
		kids = append(kids, n)
		t, ok := p.peek()
		if !ok || t.kind != tokOr {
			break
		}
		p.i++
		if nt, ok := p.peek(); !ok || nt.kind == tokRParen || nt.kind == tokOr || nt.kind == tokAnd {
			p.errAt(t.pos, "OR needs a clause after it")
			return nil
		}
	}
	if len(kids) == 1 {
		return kids[0]
	}
	return &orNode{kids}
}

func (p *parser) parseAnd(field string, depth int) node {
	var kids []node
	for {
		t, ok := p.peek()
		if !ok || t.kind == tokRParen || t.kind == tokOr {
			break
		}
		if t.kind == tokAnd {
			if len(kids) == 0 {
				p.errAt(t.pos, "AND needs a clause before it")
				return nil
			}
			p.i++
			if nt, ok := p.peek(); !ok || nt.kind == tokRParen || nt.kind == tokOr || nt.kind == tokAnd {
				p.errAt(t.pos, "AND needs a clause after it")
				return nil
			}
			continue
		}
		n := p.parseUnary(field, depth)
		if p.err != nil {
			return nil
		}
		kids = append(kids, n)
	}
	if len(kids) == 0 {
		t, ok := p.peek()
		if !ok {
			p.errAt(len(p.src), "a clause is missing at the end")
		} else {
			p.errAt(t.pos, "a clause is missing before "+t.describe())
		}
		return nil
	}
	if len(kids) == 1 {
		return kids[0]
	}
	return &andNode{kids}
}

func (p *parser) parseUnary(field string, depth int) node {
	t, _ := p.peek()
	switch t.kind {
	case tokNot, tokMinus:
		p.i++
		nt, ok := p.peek()
		if !ok || nt.kind == tokRParen || nt.kind == tokOr || nt.kind == tokAnd {
			p.errAt(t.pos, t.describe()+" needs a clause after it")
			return nil
		}
		kid := p.parseUnary(field, depth+1)
		if p.err != nil {
			return nil
		}
		return &notNode{kid}
	case tokPlus:
		p.i++
		nt, ok := p.peek()
		if !ok || nt.kind == tokRParen || nt.kind == tokOr || nt.kind == tokAnd {
			p.errAt(t.pos, "+ needs a clause after it")
			return nil
		}
		return p.parseUnary(field, depth+1)
	}
	return p.parsePrimary(field, depth)
}

func (p *parser) parsePrimary(field string, depth int) node {
	t, _ := p.peek()
	p.i++
	switch t.kind {
	case tokLParen:
		n := p.parseOr(field, depth+1)
		if p.err != nil {
			return nil
		}
		c, ok := p.peek()
		if !ok || c.kind != tokRParen {
			p.errAt(t.pos, "this ( is not closed")
			return nil
		}
		p.i++
		return n
	case tokWord:
		return p.word(field, t, false)
	case tokPhrase:
		return p.word(field, t, true)
	case tokField:
		name := fieldAliases[t.text]
		if name == "" {
			p.errAt(t.pos, fmt.Sprintf("unknown field %q; fields are %s", t.text, fieldList()))
			return nil
		}
		if field != "" {
			p.errAt(t.pos, fmt.Sprintf("field %q inside a group of field %q", t.text, field))
			return nil
		}
		v, ok := p.peek()
		if !ok || !v.glued || (v.kind != tokWord && v.kind != tokPhrase && v.kind != tokLParen) {
			p.errAt(t.pos+len(t.text)+1, fmt.Sprintf("field %s: needs a value right after the colon", t.text))
			return nil
		}
		if v.kind == tokLParen {
			return p.parsePrimary(name, depth)
		}
		p.i++
		if name == fieldYear {
			return p.year(v)
		}
		return p.word(name, v, v.kind == tokPhrase)
	case tokRParen:
		p.errAt(t.pos, "unexpected ) without a matching (")
	default:
		p.errAt(t.pos, "unexpected "+t.describe())
	}
	return nil
}

func fieldList() string {
	return "title, creator, subject, description, identifier, doi, orcid, type, language, year, license, origin, set"
}

func (p *parser) word(field string, t token, phrase bool) node {
	p.clauses++
	text := t.text
	if field == fieldYear {
		return p.year(t)
	}
	if strings.TrimSpace(text) == "" {
		if phrase {
			p.errAt(t.pos, "the phrase is empty")
		} else {
			p.errAt(t.pos, "the value is empty")
		}
		return nil
	}
	if isTextField(field) && !phrase && len(Terms(text)) == 0 && field == "" {
		// Punctuation only: nothing to search for.
		p.errAt(t.pos, fmt.Sprintf("%q has no letters or digits to search for", text))
		return nil
	}
	n := &wordNode{field: field, text: text, phrase: phrase}
	if isTextField(field) {
		n.terms = Terms(text)
	}
	return n
}

// year parses a year or a year range: 2015, 2010..2020, 2010.., ..2020.
func (p *parser) year(t token) node {
	s := t.text
	lo, hi, isRange := strings.Cut(s, "..")
	parse := func(v string, def int, off int) (int, bool) {
		if v == "" && isRange {
			return def, true
		}
		if len(v) < 1 || len(v) > 4 || !isDigits(v) {
			p.errAt(t.pos+off, fmt.Sprintf("year %q is not a year (1 to 4 digits)", v))
			return 0, false
		}
		return atoi(v), true
	}
	a, ok := parse(lo, 0, 0)
	if !ok {
		return nil
	}
	if !isRange {
		return &rangeNode{field: fieldYear, lo: a, hi: a}
	}
	b, ok := parse(hi, 9999, len(lo)+2)
	if !ok {
		return nil
	}
	if lo == "" && hi == "" {
		p.errAt(t.pos, "a year range needs at least one end")
		return nil
	}
	if a > b {
		p.errAt(t.pos, fmt.Sprintf("the year range %d..%d is empty: its start is after its end", a, b))
		return nil
	}
	return &rangeNode{field: fieldYear, lo: a, hi: b}
}

// simplify flattens nested ANDs and ORs.
func simplify(n node) node {
	switch x := n.(type) {
	case *andNode:
		var kids []node
		for _, k := range x.kids {
			k = simplify(k)
			if a, ok := k.(*andNode); ok {
				kids = append(kids, a.kids...)
			} else {
				kids = append(kids, k)
			}
		}
		return &andNode{kids}
	case *orNode:
		var kids []node
		for _, k := range x.kids {
			k = simplify(k)
			if o, ok := k.(*orNode); ok {
				kids = append(kids, o.kids...)
			} else {
				kids = append(kids, k)
			}
		}
		return &orNode{kids}
	case *notNode:
		return &notNode{simplify(x.kid)}
	}
	return n
}

// isFieldName reports whether name, followed by a colon and rest, is meant
// as a field: a known field, or a word of letters that is not a URI scheme
// (so that a misspelt field is an error, not a silent word search).
func isFieldName(name, rest string) bool {
	if strings.HasPrefix(rest, "//") {
		return false
	}
	lower := strings.ToLower(name)
	if _, ok := fieldAliases[lower]; ok {
		return true
	}
	if plainPrefixes[lower] || rest == "" {
		return false
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '_') {
			return false
		}
	}
	if r, _ := utf8.DecodeRuneInString(rest); isSpace(r) {
		return false
	}
	return true
}
