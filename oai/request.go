package oai

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/colligo/colligo/store"
)

// OAI-PMH error codes (§3.6).
const (
	CodeBadArgument             = "badArgument"
	CodeBadResumptionToken      = "badResumptionToken"
	CodeBadVerb                 = "badVerb"
	CodeCannotDisseminateFormat = "cannotDisseminateFormat"
	CodeIDDoesNotExist          = "idDoesNotExist"
	CodeNoRecordsMatch          = "noRecordsMatch"
	CodeNoMetadataFormats       = "noMetadataFormats"
	CodeNoSetHierarchy          = "noSetHierarchy"
)

// ProtocolError is an OAI-PMH error condition: answered in XML with HTTP
// status 200, as the protocol requires.
type ProtocolError struct {
	Code    string
	Message string
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Message }

func protoErr(code, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Verbs.
const (
	verbIdentify            = "Identify"
	verbListMetadataFormats = "ListMetadataFormats"
	verbListSets            = "ListSets"
	verbGetRecord           = "GetRecord"
	verbListIdentifiers     = "ListIdentifiers"
	verbListRecords         = "ListRecords"
)

// Arguments, in the order the request element echoes them.
var argOrder = []string{"identifier", "metadataPrefix", "from", "until", "set", "resumptionToken"}

// verbArgs lists, per verb, the arguments it requires and those it
// allows (§4); resumptionToken, where allowed, is exclusive.
var verbArgs = map[string]struct{ required, optional []string }{
	verbIdentify:            {},
	verbListMetadataFormats: {optional: []string{"identifier"}},
	verbListSets:            {optional: []string{"resumptionToken"}},
	verbGetRecord:           {required: []string{"identifier", "metadataPrefix"}},
	verbListIdentifiers:     {required: []string{"metadataPrefix"}, optional: []string{"from", "until", "set", "resumptionToken"}},
	verbListRecords:         {required: []string{"metadataPrefix"}, optional: []string{"from", "until", "set", "resumptionToken"}},
}

// request is a parsed, valid OAI-PMH request.
type request struct {
	verb string
	args map[string]string // as given, for the request element

	identifier, prefix, set, token string
	// from and until bound the datestamp, inclusive; until of day
	// granularity is the last second of its day. Zero when absent.
	from, until time.Time
}

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9\-_.!~*'()]+$`)

// validPrefix reports whether s is a metadataPrefix as OAI-PMH.xsd
// defines it.
func validPrefix(s string) bool { return prefixPattern.MatchString(s) }

// parseRequest checks a request's arguments against §3.1 and §4. The
// error, when there is one, is badVerb or badArgument; the request element
// then carries no attributes.
func parseRequest(q url.Values) (*request, *ProtocolError) {
	verbs := q["verb"]
	switch {
	case len(verbs) == 0:
		return nil, protoErr(CodeBadVerb, "the verb argument is missing")
	case len(verbs) > 1:
		return nil, protoErr(CodeBadVerb, "the verb argument is repeated")
	}
	verb := verbs[0]
	spec, ok := verbArgs[verb]
	if !ok {
		if !xmlSafe(verb) {
			return nil, protoErr(CodeBadVerb, "the verb is not a legal OAI-PMH verb")
		}
		return nil, protoErr(CodeBadVerb, "%q is not an OAI-PMH verb; the verbs are Identify, ListMetadataFormats, ListSets, GetRecord, ListIdentifiers and ListRecords", verb)
	}
	req := &request{verb: verb, args: map[string]string{}}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if name == "verb" {
			continue
		}
		vals := q[name]
		if !slices.Contains(spec.required, name) && !slices.Contains(spec.optional, name) {
			if !xmlSafe(name) {
				return nil, protoErr(CodeBadArgument, "an argument name holds characters XML does not allow")
			}
			return nil, protoErr(CodeBadArgument, "%s does not take the argument %q", verb, name)
		}
		if len(vals) > 1 {
			return nil, protoErr(CodeBadArgument, "the argument %s is repeated", name)
		}
		if !xmlSafe(vals[0]) {
			return nil, protoErr(CodeBadArgument, "the argument %s holds characters XML does not allow", name)
		}
		if vals[0] == "" {
			return nil, protoErr(CodeBadArgument, "the argument %s is empty", name)
		}
		req.args[name] = vals[0]
	}
	if tok, ok := req.args["resumptionToken"]; ok {
		if len(req.args) > 1 {
			return nil, protoErr(CodeBadArgument, "resumptionToken is an exclusive argument: send it with the verb alone")
		}
		req.token = tok
		return req, nil
	}
	for _, name := range spec.required {
		if _, ok := req.args[name]; !ok {
			return nil, protoErr(CodeBadArgument, "%s requires the argument %s", verb, name)
		}
	}
	req.identifier = req.args["identifier"]
	req.prefix = req.args["metadataPrefix"]
	if req.prefix != "" && !validPrefix(req.prefix) {
		return nil, protoErr(CodeBadArgument, "metadataPrefix %q is not a metadata prefix (A-Z a-z 0-9 - _ . ! ~ * ' ( ))", req.prefix)
	}
	req.set = req.args["set"]
	if req.set != "" && !store.ValidSetSpec(req.set) {
		return nil, protoErr(CodeBadArgument, "set %q is not a setSpec", req.set)
	}
	from, fromOK := req.args["from"]
	until, untilOK := req.args["until"]
	var fromDay, untilDay bool
	var err error
	if fromOK {
		if req.from, fromDay, err = parseDatestamp(from, false); err != nil {
			return nil, protoErr(CodeBadArgument, "from %q: %v", from, err)
		}
	}
	if untilOK {
		if req.until, untilDay, err = parseDatestamp(until, true); err != nil {
			return nil, protoErr(CodeBadArgument, "until %q: %v", until, err)
		}
	}
	if fromOK && untilOK {
		if fromDay != untilDay {
			return nil, protoErr(CodeBadArgument, "from %q and until %q have different granularities", from, until)
		}
		if req.from.After(req.until) {
			return nil, protoErr(CodeBadArgument, "from %q is later than until %q", from, until)
		}
	}
	return req, nil
}

// parseDatestamp reads YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (§3.3.1). A day
// is its first second, or its last when end is set (until is inclusive).
func parseDatestamp(s string, end bool) (t time.Time, day bool, err error) {
	switch len(s) {
	case len("2006-01-02"):
		t, err = time.Parse(time.DateOnly, s)
		if err == nil && end {
			t = t.Add(24*time.Hour - time.Second)
		}
		return t, true, err
	case len("2006-01-02T15:04:05Z"):
		if s[len(s)-1] == 'Z' {
			t, err = time.Parse("2006-01-02T15:04:05Z", s)
			return t, false, err
		}
	}
	return time.Time{}, false, fmt.Errorf("not a UTC datestamp: write YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")
}

// parseIdentifier returns the local id of oai:<repositoryID>:<id>.
func parseIdentifier(identifier, repositoryID string) (string, bool) {
	rest, ok := strings.CutPrefix(identifier, "oai:"+repositoryID+":")
	if !ok || !store.ValidID(rest) {
		return "", false
	}
	return rest, true
}
