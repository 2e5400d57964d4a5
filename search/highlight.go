package search

import (
	"html"
	"strings"
	"unicode/utf8"
)

// highlighter marks the query's words in record text. It analyses the
// text like the index does, so "glaciers" in a record is marked for the
// query "glacier".
type highlighter struct {
	terms map[string]bool
	tk    *tokenizer
}

func newHighlighter(words []string) *highlighter {
	h := &highlighter{terms: map[string]bool{}, tk: newTokenizer()}
	for _, w := range words {
		h.terms[w] = true
	}
	return h
}

func (h *highlighter) active() bool { return len(h.terms) > 0 }

// span is a matched token's byte range.
type span struct{ start, end int }

// matches returns the byte ranges of the tokens of text that match.
func (h *highlighter) matches(text string) []span {
	var out []span
	// Walk the tokens again with their offsets: the tokenizer emits
	// terms only, so find each token's extent here with the same rules.
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += size
			continue
		}
		start := i
		if isIdeograph(r) {
			i += size
		} else {
			for i < len(text) {
				r, size := utf8.DecodeRuneInString(text[i:])
				if !isWordRune(r) || isIdeograph(r) {
					break
				}
				i += size
			}
		}
		tok := text[start:i]
		matched := false
		h.tk.each(tok, func(term []byte) {
			if h.terms[string(term)] {
				matched = true
			}
		})
		if matched {
			out = append(out, span{start, i})
		}
	}
	return out
}

// fragment returns text (or, when max > 0, a window of about max bytes
// around the first match) as HTML with the matches in <mark>, and whether
// anything matched.
func (h *highlighter) fragment(text string, max int) (string, bool) {
	ms := h.matches(text)
	if len(ms) == 0 {
		return "", false
	}
	lo, hi := 0, len(text)
	if max > 0 && len(text) > max {
		lo = ms[0].start - max/4
		if lo < 0 {
			lo = 0
		}
		for lo > 0 && text[lo-1] != ' ' && ms[0].start-lo < max/2 {
			lo--
		}
		for lo < len(text) && !isRuneStart(text[lo]) {
			lo++
		}
		hi = lo + max
		if hi > len(text) {
			hi = len(text)
		}
		if i := strings.LastIndexByte(text[lo:hi], ' '); i > max/2 && hi < len(text) {
			hi = lo + i
		}
		for hi < len(text) && !isRuneStart(text[hi]) {
			hi--
		}
	}
	var b strings.Builder
	if lo > 0 {
		b.WriteString("… ")
	}
	pos := lo
	for _, m := range ms {
		if m.start < lo || m.end > hi {
			continue
		}
		b.WriteString(html.EscapeString(text[pos:m.start]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(text[m.start:m.end]))
		b.WriteString("</mark>")
		pos = m.end
	}
	b.WriteString(html.EscapeString(text[pos:hi]))
	if hi < len(text) {
		b.WriteString(" …")
	}
	return b.String(), true
}
