package search

import (
	"context"
	"strings"
	"unicode"
)

// Labeler names concepts: the label of a facet value that is a concept
// URI, in the user's language (the vocabulary layer implements it, issue
// 9). It returns "" for a value it does not know.
type Labeler func(value, lang string) string

// label sets the labels of the values of concept facets.
func (s *Service) label(res *Result, lang string) {
	if s.opt.Labeler == nil {
		return
	}
	for _, name := range []string{FacetType.String(), FacetSubject.String()} {
		vals := res.Facets[name]
		for i := range vals {
			if l := s.opt.Labeler(vals[i].Value, lang); l != "" {
				vals[i].Label = l
			}
		}
	}
}

// conceptQuery widens a query of plain words whose whole text is the label
// of a concept ("conjunto de datos", "journal article"): the words alone,
// or the phrase, which the Expander matches to the concept's records. A
// single word is expanded by the evaluator itself.
func (s *Service) conceptQuery(ctx context.Context, q string) string {
	if s.opt.Expander == nil {
		return q
	}
	words := strings.Fields(q)
	if len(words) < 2 || len(words) > 6 {
		return q
	}
	for _, w := range words {
		if w == "AND" || w == "OR" || w == "NOT" {
			return q
		}
		for _, r := range w {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '\'' {
				return q
			}
		}
	}
	phrase := strings.Join(words, " ")
	if len(s.opt.Expander.Expand(ctx, "", phrase)) == 0 {
		return q
	}
	return "(" + q + `) OR "` + phrase + `"`
}

// filterValues returns the facet values a filter selects: its value and,
// on a concept facet, the concepts a label stands for, so that
// type:Dataset also selects the records catalogued as "Datensatz" once
// both are mapped to the COAR concept. A concept URI selects itself only,
// as a click on a facet value does.
func (s *Service) filterValues(ctx context.Context, f Filter) []string {
	vals := []string{f.Value}
	if s.opt.Expander == nil || strings.Contains(f.Value, "://") {
		return vals
	}
	switch f.Facet {
	case FacetType:
		return append(vals, s.opt.Expander.Expand(ctx, fieldType, f.Value)...)
	case FacetSubject:
		return append(vals, s.opt.Expander.Expand(ctx, fieldSubject, f.Value)...)
	}
	return vals
}
