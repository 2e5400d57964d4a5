package store

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FieldError is one invalid field of a record.
type FieldError struct {
	// Field is the JSON path of the field: "metadata.creators[2].orcid".
	Field string `json:"field"`
	// Message says what is wrong, with the offending value.
	Message string `json:"message"`
}

// ValidationError lists every invalid field of a record. Writers return it
// (check with errors.As); the HTTP API answers 400 with its fields.
type ValidationError struct {
	ID     string
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "record %q is invalid: ", e.ID)
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Field)
		b.WriteString(": ")
		b.WriteString(fe.Message)
	}
	return b.String()
}

func (e *ValidationError) add(field, format string, args ...any) {
	e.Errors = append(e.Errors, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

var (
	doiPattern    = regexp.MustCompile(`(?i)^(?:doi:\s*|https?://(?:dx\.)?doi\.org/|info:doi/)?(10\.\d{4,9}/\S+)$`)
	handlePattern = regexp.MustCompile(`(?i)^(?:hdl:\s*|https?://hdl\.handle\.net/|info:hdl/)(\d[\d.]*/\S+)$`)
	arxivPattern  = regexp.MustCompile(`(?i)^(?:arxiv:\s*|https?://arxiv\.org/abs/)([a-z\-.]+/\d{7}|\d{4}\.\d{4,5})(v\d+)?$`)
	issnPattern   = regexp.MustCompile(`^\d{4}-?\d{3}[\dXx]$`)
	orcidPattern  = regexp.MustCompile(`(?i)^(?:https?://orcid\.org/)?(\d{4}-?\d{4}-?\d{4}-?\d{3}[\dX])$`)
)

// ValidID reports whether id can be a local record identifier: 1 to 128
// bytes of A-Z a-z 0-9 . _ ~ -, and not "." or "..".
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '~' || c == '-') {
			return false
		}
	}
	return true
}

// validDate reports whether s is YYYY, YYYY-MM or YYYY-MM-DD with a month
// 01-12 and a day 01-31.
func validDate(s string) bool {
	digits := func(t string) bool {
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return false
			}
		}
		return true
	}
	switch len(s) {
	case 4:
		return digits(s)
	case 7, 10:
		if !digits(s[:4]) || s[4] != '-' || !digits(s[5:7]) || s[5:7] < "01" || s[5:7] > "12" {
			return false
		}
		if len(s) == 7 {
			return true
		}
		return s[7] == '-' && digits(s[8:]) && s[8:] >= "01" && s[8:] <= "31"
	}
	return false
}

// validLangTag reports whether l looks like a lower-case BCP 47 tag:
// 2-3 letters, then subtags of 1-8 letters or digits.
func validLangTag(l string) bool {
	first := true
	for len(l) > 0 {
		i := strings.IndexByte(l, '-')
		part := l
		if i >= 0 {
			part, l = l[:i], l[i+1:]
			if l == "" {
				return false
			}
		} else {
			l = ""
		}
		if first && (len(part) < 2 || len(part) > 3) || !first && (len(part) < 1 || len(part) > 8) {
			return false
		}
		for j := 0; j < len(part); j++ {
			c := part[j]
			if !(c >= 'a' && c <= 'z' || !first && c >= '0' && c <= '9') {
				return false
			}
		}
		first = false
	}
	return !first
}

// ValidSetSpec reports whether spec is a setSpec as OAI-PMH 2.0 defines it.
func ValidSetSpec(spec string) bool {
	// ^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$ by hand (the
	// provider derives a set per record); the test keeps the expression.
	prev := byte(':')
	for i := 0; i < len(spec); i++ {
		c := spec[i]
		switch {
		case c == ':':
			if prev == ':' {
				return false
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.!~*'()", c) >= 0:
		default:
			return false
		}
		prev = c
	}
	return prev != ':'
}

// NormalizeIdentifier returns the canonical form of an identifier: the
// scheme in lower case (detected from the value when empty) and the value in
// the form of that scheme, so that "10.1234/ABC" and
// "https://doi.org/10.1234/abc" compare equal. ok is false when the value is
// not a valid identifier of the given scheme.
func NormalizeIdentifier(scheme, value string) (Identifier, bool) {
	scheme = strings.ToLower(strings.TrimSpace(scheme))
	value = strings.TrimSpace(value)
	if value == "" {
		return Identifier{Scheme: scheme}, false
	}
	if scheme == "" {
		scheme = DetectScheme(value)
	}
	switch scheme {
	case "doi":
		doi, ok := matchDOI(value)
		if !ok {
			return Identifier{scheme, value}, false
		}
		return Identifier{"doi", strings.ToLower(doi)}, true
	case "handle", "hdl":
		m := handlePattern.FindStringSubmatch(value)
		if m == nil {
			if strings.Contains(value, "/") && !strings.Contains(value, "://") {
				return Identifier{"handle", value}, true
			}
			return Identifier{"handle", value}, false
		}
		return Identifier{"handle", m[1]}, true
	case "arxiv":
		m := arxivPattern.FindStringSubmatch(value)
		if m == nil {
			return Identifier{"arxiv", value}, false
		}
		return Identifier{"arxiv", strings.ToLower(m[1]) + strings.ToLower(m[2])}, true
	case "isbn":
		v := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(value))
		v = strings.TrimPrefix(v, "ISBN:")
		v = strings.TrimPrefix(v, "ISBN")
		if !validISBN(v) {
			return Identifier{"isbn", value}, false
		}
		return Identifier{"isbn", v}, true
	case "issn":
		if !issnPattern.MatchString(value) {
			return Identifier{"issn", value}, false
		}
		v := strings.ToUpper(strings.ReplaceAll(value, "-", ""))
		return Identifier{"issn", v[:4] + "-" + v[4:]}, true
	case "orcid":
		o, ok := NormalizeORCID(value)
		return Identifier{"orcid", o}, ok
	case "url", "uri":
		if !isHTTPURL(value) {
			return Identifier{"url", value}, false
		}
		return Identifier{"url", value}, true
	case "urn":
		if !strings.HasPrefix(strings.ToLower(value), "urn:") {
			return Identifier{"urn", value}, false
		}
		// "urn:" and the namespace id are case-insensitive (RFC 8141).
		nid, nss, ok := strings.Cut(value[4:], ":")
		if !ok || nid == "" || nss == "" {
			return Identifier{"urn", value}, false
		}
		return Identifier{"urn", "urn:" + strings.ToLower(nid) + ":" + nss}, true
	}
	if !schemePattern.MatchString(scheme) {
		return Identifier{scheme, value}, false
	}
	return Identifier{scheme, value}, true
}

var schemePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// DetectScheme guesses the scheme of an identifier from its form: doi,
// handle, arxiv, urn, url, isbn or issn; "local" when nothing fits.
func DetectScheme(value string) string {
	v := strings.TrimSpace(value)
	l := strings.ToLower(v)
	// Cheap tests first: most values are plain URLs or DOIs.
	if strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
		switch {
		case strings.Contains(l, "doi.org/") && isDOI(v):
			return "doi"
		case strings.Contains(l, "hdl.handle.net/") && handlePattern.MatchString(v):
			return "handle"
		case strings.Contains(l, "arxiv.org/abs/") && arxivPattern.MatchString(v):
			return "arxiv"
		case isHTTPURL(v):
			return "url"
		}
		return "local"
	}
	switch {
	case isDOI(v):
		return "doi"
	case handlePattern.MatchString(v):
		return "handle"
	case arxivPattern.MatchString(v):
		return "arxiv"
	case strings.HasPrefix(strings.ToLower(v), "urn:"):
		return "urn"
	case isHTTPURL(v):
		return "url"
	case strings.HasPrefix(strings.ToUpper(v), "ISBN") || validISBN(strings.ReplaceAll(v, "-", "")):
		return "isbn"
	case issnPattern.MatchString(v) && strings.Contains(v, "-"):
		return "issn"
	}
	return "local"
}

func isDOI(v string) bool {
	_, ok := matchDOI(v)
	return ok
}

// matchDOI is doiPattern.FindStringSubmatch(v)[1], without the regular
// expression for ASCII values (every DOI a record has passes here two or
// three times; the expression took 2% of a harvest's CPU).
func matchDOI(v string) (string, bool) {
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			// (?i) folds some non-ASCII letters to ASCII ones.
			if m := doiPattern.FindStringSubmatch(v); m != nil {
				return m[1], true
			}
			return "", false
		}
	}
	rest := v
	switch {
	case hasPrefixFold(rest, "doi:"):
		rest = strings.TrimLeft(rest[4:], " \t\n\f\r")
	case hasPrefixFold(rest, "info:doi/"):
		rest = rest[9:]
	case hasPrefixFold(rest, "http://"), hasPrefixFold(rest, "https://"):
		rest = rest[strings.Index(rest, "//")+2:]
		if hasPrefixFold(rest, "dx.") {
			rest = rest[3:]
		}
		if !hasPrefixFold(rest, "doi.org/") {
			return "", false
		}
		rest = rest[8:]
	}
	if !strings.HasPrefix(rest, "10.") {
		return "", false
	}
	i := 3
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if d := i - 3; d < 4 || d > 9 || i == len(rest) || rest[i] != '/' {
		return "", false
	}
	if i+1 == len(rest) || strings.ContainsAny(rest[i+1:], " \t\n\f\r") {
		return "", false
	}
	return rest, true
}

// hasPrefixFold is strings.HasPrefix for an ASCII s and a lower-case
// ASCII prefix, ignoring case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

func isHTTPURL(s string) bool {
	l := strings.ToLower(s)
	return (strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")) &&
		len(s) > len("http://x") && !strings.ContainsAny(s, " \t\n<>\"")
}

func validISBN(v string) bool {
	switch len(v) {
	case 10:
		sum := 0
		for i := 0; i < 10; i++ {
			c := v[i]
			d := int(c - '0')
			if c == 'X' && i == 9 {
				d = 10
			} else if c < '0' || c > '9' {
				return false
			}
			sum += d * (10 - i)
		}
		return sum%11 == 0
	case 13:
		sum := 0
		for i := 0; i < 13; i++ {
			c := v[i]
			if c < '0' || c > '9' {
				return false
			}
			d := int(c - '0')
			if i%2 == 1 {
				d *= 3
			}
			sum += d
		}
		return sum%10 == 0
	}
	return false
}

// NormalizeORCID returns the bare form of an ORCID iD
// ("0000-0002-1825-0097") and whether its check digit (ISO 7064 11,2) is
// right. It accepts the https://orcid.org/ form and missing hyphens.
func NormalizeORCID(s string) (string, bool) {
	m := orcidPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return strings.TrimSpace(s), false
	}
	digits := strings.ToUpper(strings.ReplaceAll(m[1], "-", ""))
	total := 0
	for i := 0; i < 15; i++ {
		total = (total + int(digits[i]-'0')) * 2
	}
	check := (12 - total%11) % 11
	want := byte('0' + check)
	if check == 10 {
		want = 'X'
	}
	bare := digits[0:4] + "-" + digits[4:8] + "-" + digits[8:12] + "-" + digits[12:16]
	return bare, digits[15] == want
}

// languageAliases maps ISO 639-2 codes and English names that real
// repositories put in dc:language to BCP 47 tags.
var languageAliases = map[string]string{
	"eng": "en", "english": "en", "ger": "de", "deu": "de", "german": "de", "deutsch": "de",
	"fre": "fr", "fra": "fr", "french": "fr", "français": "fr", "spa": "es", "spanish": "es", "español": "es",
	"ita": "it", "italian": "it", "por": "pt", "portuguese": "pt", "português": "pt", "rus": "ru", "russian": "ru",
	"chi": "zh", "zho": "zh", "chinese": "zh", "jpn": "ja", "japanese": "ja", "dut": "nl", "nld": "nl", "dutch": "nl",
	"tur": "tr", "turkish": "tr", "cze": "cs", "ces": "cs", "czech": "cs", "pol": "pl", "polish": "pl",
	"swe": "sv", "swedish": "sv", "nor": "no", "nob": "nb", "dan": "da", "danish": "da", "fin": "fi", "finnish": "fi",
	"gre": "el", "ell": "el", "greek": "el", "hun": "hu", "hungarian": "hu", "ukr": "uk", "ukrainian": "uk",
	"ara": "ar", "arabic": "ar", "kor": "ko", "korean": "ko", "cat": "ca", "catalan": "ca", "lat": "la", "latin": "la",
	"en_us": "en-us", "en_gb": "en-gb", "pt_br": "pt-br",
}

// NormalizeLanguage returns the BCP 47 form of a language value in lower
// case, mapping ISO 639-2 codes and common English names; ok is false when
// the value is not a language tag.
func NormalizeLanguage(s string) (string, bool) {
	l := strings.ToLower(strings.TrimSpace(s))
	if a, ok := languageAliases[l]; ok {
		return a, true
	}
	l = strings.ReplaceAll(l, "_", "-")
	return l, validLangTag(l)
}

// CleanText returns s with surrounding white space removed, Unicode in NFC,
// and every character that XML 1.0 cannot carry (C0 controls other than tab,
// line feed and carriage return, U+FFFE, U+FFFF, invalid UTF-8) dropped, so
// that every stored string can be written into OAI-PMH and RDF/XML.
func CleanText(s string) string {
	ascii, clean := true, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			ascii = false
			break
		}
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			clean = false
			break
		}
	}
	if ascii && clean {
		return strings.TrimSpace(s)
	}
	if !ascii {
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !xmlChar(r) || (r == utf8.RuneError && n == 1) {
				clean = false
				break
			}
			i += n
		}
	}
	if !clean {
		s = strings.Map(func(r rune) rune {
			if !xmlChar(r) || r == utf8.RuneError {
				return -1
			}
			return r
		}, strings.ToValidUTF8(s, ""))
	}
	s = strings.TrimSpace(s)
	if !norm.NFC.IsNormalString(s) {
		s = norm.NFC.String(s)
	}
	return s
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// Normalize puts a record in canonical form in place and then validates it.
// It trims and cleans every string, drops empty list entries, normalises
// identifiers, ORCID iDs, languages and the licence (filling LicenseSPDX),
// and sorts and de-duplicates Sets. The error, if any, is a
// *ValidationError naming every bad field.
func Normalize(r *Record) error {
	ve := &ValidationError{ID: r.ID}
	if !ValidID(r.ID) {
		ve.add("id", "%q is not a valid record id: use 1 to 128 of A-Z a-z 0-9 . _ ~ -", r.ID)
	}
	r.Origin = CleanText(r.Origin)
	sets := r.Sets[:0]
	for i, s := range r.Sets {
		s = strings.TrimSpace(s)
		if !ValidSetSpec(s) {
			ve.add(fmt.Sprintf("sets[%d]", i), "%q is not a valid setSpec", s)
			continue
		}
		sets = append(sets, s)
	}
	slices.Sort(sets)
	r.Sets = slices.Compact(sets)
	if len(r.Sets) == 0 {
		r.Sets = nil
	}
	m := &r.Metadata
	m.Titles = cleanTexts(m.Titles, "metadata.titles", ve)
	m.Descriptions = cleanTexts(m.Descriptions, "metadata.descriptions", ve)
	m.Rights = cleanTexts(m.Rights, "metadata.rights", ve)
	m.Creators = cleanPersons(m.Creators, "metadata.creators", ve)
	m.Contributors = cleanPersons(m.Contributors, "metadata.contributors", ve)
	subjects := m.Subjects[:0]
	for i, s := range m.Subjects {
		s.Value, s.URI, s.Scheme = CleanText(s.Value), strings.TrimSpace(s.URI), CleanText(s.Scheme)
		s.Lang = cleanLang(s.Lang, "metadata.subjects", i, ve)
		if s.Value == "" && s.URI == "" {
			continue
		}
		if s.URI != "" && !isAbsoluteURI(s.URI) {
			ve.add(fmt.Sprintf("metadata.subjects[%d].uri", i), "%q is not an absolute URI", s.URI)
		}
		subjects = append(subjects, s)
	}
	m.Subjects = nilIfEmpty(subjects)
	m.Publisher = CleanText(m.Publisher)
	m.Type = CleanText(m.Type)
	m.TypeURI = strings.TrimSpace(m.TypeURI)
	if m.TypeURI != "" && !isAbsoluteURI(m.TypeURI) {
		ve.add("metadata.type_uri", "%q is not an absolute URI", m.TypeURI)
	}
	m.AccessRights = CleanText(m.AccessRights)
	m.AccessRightsURI = strings.TrimSpace(m.AccessRightsURI)
	if m.AccessRightsURI != "" && !isAbsoluteURI(m.AccessRightsURI) {
		ve.add("metadata.access_rights_uri", "%q is not an absolute URI", m.AccessRightsURI)
	}
	for _, d := range []struct {
		name string
		v    *string
	}{{"metadata.issued", &m.Issued}, {"metadata.created", &m.Created}} {
		*d.v = strings.TrimSpace(*d.v)
		if *d.v != "" && !validDate(*d.v) {
			ve.add(d.name, "%q is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD", *d.v)
		}
	}
	m.Identifiers = cleanIdentifiers(m.Identifiers, "metadata.identifiers", ve)
	langs := m.Languages[:0]
	for i, l := range m.Languages {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n, ok := NormalizeLanguage(l)
		if !ok {
			ve.add(fmt.Sprintf("metadata.languages[%d]", i), "%q is not a language tag", l)
			continue
		}
		langs = append(langs, n)
	}
	m.Languages = nilIfEmpty(slices.Compact(langs))
	if in := licenseInput(m.License, m.LicenseSPDX); in != "" {
		uri, spdx, ok := NormalizeLicense(in)
		if !ok {
			ve.add("metadata.license", "%q is neither an absolute URI nor a known SPDX licence id", in)
		}
		m.License, m.LicenseSPDX = uri, spdx
	}
	rels := m.Relations[:0]
	for i, rel := range m.Relations {
		rel.Type, rel.Value = strings.TrimSpace(rel.Type), CleanText(rel.Value)
		if rel.Value == "" {
			continue
		}
		if rel.Scheme != "" || rel.Type != "" {
			if id, ok := NormalizeIdentifier(rel.Scheme, rel.Value); ok {
				rel.Scheme, rel.Value = id.Scheme, id.Value
			} else if rel.Scheme != "" {
				ve.add(fmt.Sprintf("metadata.relations[%d].value", i), "%q is not a valid %s", rel.Value, rel.Scheme)
			}
		}
		rels = append(rels, rel)
	}
	m.Relations = nilIfEmpty(rels)
	files := m.Files[:0]
	for i, f := range m.Files {
		f.URL, f.Type, f.Name, f.Checksum = strings.TrimSpace(f.URL), strings.TrimSpace(f.Type), CleanText(f.Name), strings.TrimSpace(f.Checksum)
		if f.URL == "" {
			ve.add(fmt.Sprintf("metadata.files[%d].url", i), "a file needs a url")
			continue
		}
		if !isHTTPURL(f.URL) {
			ve.add(fmt.Sprintf("metadata.files[%d].url", i), "%q is not an http or https URL", f.URL)
		}
		if f.Type != "" && !mediaTypePattern.MatchString(f.Type) {
			ve.add(fmt.Sprintf("metadata.files[%d].type", i), "%q is not a media type", f.Type)
		}
		if f.Size < 0 {
			ve.add(fmt.Sprintf("metadata.files[%d].size", i), "size %d is negative", f.Size)
		}
		files = append(files, f)
	}
	m.Files = nilIfEmpty(files)
	if !r.Deleted && len(m.Titles) == 0 {
		ve.add("metadata.titles", "a record needs at least one title")
	}
	for i := range r.Provenance {
		p := &r.Provenance[i]
		p.BaseURL, p.Identifier, p.Datestamp = strings.TrimSpace(p.BaseURL), CleanText(p.Identifier), strings.TrimSpace(p.Datestamp)
		p.HarvestDate = p.HarvestDate.UTC().Truncate(1e9)
	}
	for i := range r.Originals {
		if r.Originals[i].Prefix == "" {
			ve.add(fmt.Sprintf("originals[%d].prefix", i), "an original payload needs its metadataPrefix")
		}
	}
	if len(ve.Errors) > 0 {
		return ve
	}
	return nil
}

// licenseInput picks the licence value to normalise: License, or when it is
// empty, the SPDX id a client may have given instead.
func licenseInput(license, spdx string) string {
	if s := strings.TrimSpace(license); s != "" {
		return s
	}
	return strings.TrimSpace(spdx)
}

var mediaTypePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?$`)

func isAbsoluteURI(s string) bool {
	i := strings.Index(s, ":")
	if i < 1 || strings.ContainsAny(s, " \t\n<>\"{}|\\^`") {
		return false
	}
	for j, c := range s[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return len(s) > i+1
}

// cleanLang normalises the language of field[i]; the field's name is
// built only for an error (every record has several languages).
func cleanLang(l, field string, i int, ve *ValidationError) string {
	if strings.TrimSpace(l) == "" {
		return ""
	}
	n, ok := NormalizeLanguage(l)
	if !ok {
		ve.add(indexed(field, i)+".lang", "%q is not a language tag", l)
	}
	return n
}

// indexed returns field[i].
func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

func cleanTexts(ts []Text, field string, ve *ValidationError) []Text {
	out := ts[:0]
	for i, t := range ts {
		t.Value = CleanText(t.Value)
		t.Lang = cleanLang(t.Lang, field, i, ve)
		if t.Value == "" {
			continue
		}
		out = append(out, t)
	}
	return nilIfEmpty(out)
}

func cleanPersons(ps []Person, field string, ve *ValidationError) []Person {
	out := ps[:0]
	for i, p := range ps {
		p.Name, p.Affiliation, p.Role = CleanText(p.Name), CleanText(p.Affiliation), CleanText(p.Role)
		if p.ORCID = strings.TrimSpace(p.ORCID); p.ORCID != "" {
			o, ok := NormalizeORCID(p.ORCID)
			if !ok {
				ve.add(indexed(field, i)+".orcid", "%q is not a valid ORCID iD (form or check digit)", p.ORCID)
			}
			p.ORCID = o
		}
		if len(p.Identifiers) > 0 {
			p.Identifiers = cleanIdentifiers(p.Identifiers, indexed(field, i)+".identifiers", ve)
		} else {
			p.Identifiers = nil
		}
		if p.Name == "" {
			if p.ORCID == "" && len(p.Identifiers) == 0 && p.Affiliation == "" {
				continue
			}
			ve.add(indexed(field, i)+".name", "a person needs a name")
		}
		out = append(out, p)
	}
	return nilIfEmpty(out)
}

func cleanIdentifiers(ids []Identifier, field string, ve *ValidationError) []Identifier {
	out := ids[:0]
	for i, id := range ids {
		if strings.TrimSpace(id.Value) == "" {
			continue
		}
		n, ok := NormalizeIdentifier(id.Scheme, CleanText(id.Value))
		if !ok {
			ve.add(indexed(field, i), "%q is not a valid %s identifier", id.Value, n.Scheme)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return nilIfEmpty(out)
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
