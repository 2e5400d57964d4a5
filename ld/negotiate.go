package ld

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/colligo/colligo/node/problem"
)

// Offer is one representation a resource can be had as.
type Offer struct {
	// Name is the short name ?format= selects ("jsonld").
	Name string
	// Type is the media type the representation is served with.
	Type string
	// Aliases are more media types that select it ("application/json"
	// selects JSON-LD) and more ?format= names ("turtle").
	Aliases []string
}

// MediaRange is one element of an Accept header field (RFC 9110 §12.5.1).
type MediaRange struct {
	// Type and Subtype are in lower case; "*" for a wildcard.
	Type, Subtype string
	// Params are the media type parameters (before q), names in lower case.
	Params map[string]string
	// Q is the weight in thousandths: 0 (not acceptable) to 1000.
	Q int
}

// specificity ranks ranges: */* < type/* < type/subtype < with parameters.
func (m MediaRange) specificity() int {
	switch {
	case m.Type == "*":
		return 0
	case m.Subtype == "*":
		return 1
	}
	return 2 + len(m.Params)
}

// ParseAccept reads Accept header field values. Elements that are not
// media ranges, or have a malformed weight, are skipped, as a lenient
// server must (RFC 9110 §12.5.1 lets it ignore a header it cannot read).
func ParseAccept(values ...string) []MediaRange {
	var out []MediaRange
	for _, v := range values {
		for elem := range strings.SplitSeq(v, ",") {
			if m, ok := parseMediaRange(elem); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

func parseMediaRange(s string) (MediaRange, bool) {
	parts := strings.Split(s, ";")
	mt := strings.ToLower(strings.TrimSpace(parts[0]))
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || !isToken(typ) || !isToken(sub) || typ == "*" && sub != "*" {
		return MediaRange{}, false
	}
	m := MediaRange{Type: typ, Subtype: sub, Q: 1000}
	for _, p := range parts[1:] {
		name, value, _ := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if name == "" {
			continue
		}
		if name == "q" {
			q, ok := parseQ(value)
			if !ok {
				return MediaRange{}, false
			}
			m.Q = q
			// Parameters after the weight are accept-ext, not part of
			// the media range.
			break
		}
		if !isToken(name) {
			return MediaRange{}, false
		}
		if m.Params == nil {
			m.Params = map[string]string{}
		}
		m.Params[name] = strings.Trim(value, `"`)
	}
	return m, true
}

// parseQ reads a qvalue: 0[.ddd] or 1[.000].
func parseQ(s string) (int, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	q := int(s[0]-'0') * 1000
	if len(s) > 1 {
		if s[1] != '.' {
			return 0, false
		}
		scale := 100
		for _, c := range s[2:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			q += int(c-'0') * scale
			scale /= 10
		}
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// match returns how well a range selects a media type: the weight and the
// specificity of the most specific matching range, and that range's
// position in the header. ok is false when no range matches.
func match(ranges []MediaRange, mediaType string) (q, spec, pos int, ok bool) {
	typ, sub, _ := strings.Cut(mediaType, "/")
	spec = -1
	for i, m := range ranges {
		if !(m.Type == "*" || m.Type == typ && (m.Subtype == "*" || m.Subtype == sub)) {
			continue
		}
		if s := m.specificity(); s > spec {
			q, spec, pos, ok = m.Q, s, i, true
		}
	}
	return q, spec, pos, ok
}

// ErrNotAcceptable is what Negotiate returns when no offer is acceptable.
var ErrNotAcceptable = errors.New("not acceptable")

// Negotiate picks the representation of a resource for a request. A
// ?format= parameter decides when present (a Name or an alias of an
// offer). Otherwise the Accept header does (RFC 9110 §12.5.1): each offer
// gets the weight of the most specific range that matches its type or an
// alias; the highest weight wins; ties go to the more specific match, then
// to the range the client listed first, then to the offer listed first. A
// request without Accept (or with one that has no valid element) gets the
// first offer. The error wraps ErrNotAcceptable and says why.
func Negotiate(r *http.Request, offers []Offer) (Offer, error) {
	if f, ok := r.URL.Query()["format"]; ok {
		name := strings.ToLower(strings.TrimSpace(f[0]))
		for _, o := range offers {
			if o.Name == name || slices.Contains(o.Aliases, name) {
				return o, nil
			}
		}
		return Offer{}, fmt.Errorf("format %q is not available: %w", f[0], ErrNotAcceptable)
	}
	ranges := ParseAccept(r.Header.Values("Accept")...)
	if len(ranges) == 0 {
		return offers[0], nil
	}
	best, bestQ, bestSpec, bestPos := -1, 0, 0, 0
	for i, o := range offers {
		q, spec, pos, ok := match(ranges, o.Type)
		if ok && q == 0 && spec >= 2 {
			// Refused by name: an alias cannot bring it back.
			continue
		}
		// An alias counts when the client names it, not through a
		// wildcard (application/* must not pick HTML for its alias
		// application/xhtml+xml).
		for _, a := range o.Aliases {
			if !strings.Contains(a, "/") {
				continue
			}
			if aq, as, ap, aok := match(ranges, a); aok && as >= 2 && (!ok || aq > q || aq == q && (as > spec || as == spec && ap < pos)) {
				q, spec, pos, ok = aq, as, ap, true
			}
		}
		if !ok || q == 0 {
			continue
		}
		if best < 0 || q > bestQ || q == bestQ && (spec > bestSpec || spec == bestSpec && pos < bestPos) {
			best, bestQ, bestSpec, bestPos = i, q, spec, pos
		}
	}
	if best < 0 {
		return Offer{}, fmt.Errorf("no representation matches Accept: %s: %w", strings.Join(r.Header.Values("Accept"), ", "), ErrNotAcceptable)
	}
	return offers[best], nil
}

// NotAcceptable answers 406 with a problem that lists the media types and
// ?format= names of the offers. Vary: Accept is set.
func NotAcceptable(w http.ResponseWriter, r *http.Request, offers []Offer, err error) {
	w.Header().Set("Vary", "Accept")
	avail := make([]string, len(offers))
	names := make([]string, len(offers))
	for i, o := range offers {
		avail[i] = o.Type
		names[i] = o.Name
	}
	detail := "this resource is available as " + strings.Join(avail, ", ") + " (or ?format=" + strings.Join(names, "|") + ")"
	if err != nil {
		detail = strings.TrimSuffix(err.Error(), ": "+ErrNotAcceptable.Error()) + "; " + detail
	}
	problem.Write(w, r, problem.Details{Type: problem.TypeUnavailable, Status: http.StatusNotAcceptable, Detail: detail, Available: avail})
}

// Validators are the validators of a representation (RFC 9110 §8.8).
type Validators struct {
	// ETag is a strong entity tag, quotes included.
	ETag string
	// LastModified is the time of the last change, at second precision.
	LastModified time.Time
}

// Set writes the ETag and Last-Modified header fields.
func (v Validators) Set(h http.Header) {
	if v.ETag != "" {
		h.Set("ETag", v.ETag)
	}
	if !v.LastModified.IsZero() {
		h.Set("Last-Modified", v.LastModified.UTC().Format(http.TimeFormat))
	}
}

// NotModified evaluates If-None-Match and, only when that is absent,
// If-Modified-Since (RFC 9110 §13.2.2) for a GET or HEAD: true means
// answer 304.
func NotModified(r *http.Request, v Validators) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if inm := r.Header.Values("If-None-Match"); len(inm) > 0 {
		for _, field := range inm {
			for tag := range strings.SplitSeq(field, ",") {
				tag = strings.TrimSpace(tag)
				if tag == "*" && v.ETag != "" {
					return true
				}
				// Weak comparison (RFC 9110 §8.8.3.2).
				if v.ETag != "" && strings.TrimPrefix(tag, "W/") == strings.TrimPrefix(v.ETag, "W/") {
					return true
				}
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !v.LastModified.IsZero() {
		t, err := http.ParseTime(ims)
		if err == nil && !v.LastModified.Truncate(time.Second).After(t) {
			return true
		}
	}
	return false
}

// WriteNotModified answers 304 with the validators and Vary.
func WriteNotModified(w http.ResponseWriter, v Validators) {
	v.Set(w.Header())
	w.Header().Del("Content-Type")
	w.Header().Del("Content-Length")
	w.WriteHeader(http.StatusNotModified)
}
