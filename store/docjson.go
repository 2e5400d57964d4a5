package store

// A hand-written JSON encoder for record documents.
//
// It exists for speed: encoding/json's reflection-based encoder took about
// 4.5% of all CPU in a 1M-record harvest. It must write exactly the bytes
// encoding/json wrote (json.Marshal of the Record with Datestamp,
// OAIIdentifier and Provenance zeroed, the provenance spliced in last), since
// the store hashes documents (contentHash) and compares the hashes with those
// of records stored earlier: any difference would make an unchanged record
// look changed. TestAppendDocAsJSON guards the equality, on records it fills
// by reflection so that a field added to Record and not here fails it, and
// FuzzAppendJSONString the string escaping.

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/colligo/colligo/store/jsonstr"
)

// appendDoc appends the document of r, as encodeDoc returns it, to b. On
// error the returned slice holds an incomplete document.
func appendDoc(b []byte, r *Record) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, r.ID)
	// OAIIdentifier and Datestamp are zero in the document.
	b = append(b, `,"oai_identifier":"","datestamp":"0001-01-01T00:00:00Z","deleted":`...)
	b = strconv.AppendBool(b, r.Deleted)
	if len(r.Sets) > 0 {
		b = append(b, `,"sets":`...)
		b = appendJSONStrings(b, r.Sets)
	}
	if len(r.OAISets) > 0 {
		b = append(b, `,"oai_sets":`...)
		b = appendJSONStrings(b, r.OAISets)
	}
	if r.Origin != "" {
		b = append(b, `,"origin":`...)
		b = appendJSONString(b, r.Origin)
	}
	b = append(b, `,"metadata":`...)
	b = appendMetadata(b, &r.Metadata)
	if len(r.Originals) > 0 {
		b = append(b, `,"originals":`...)
		b = appendArray(b, r.Originals, appendOriginal)
	}
	// Provenance last: contentHash relies on it.
	if len(r.Provenance) > 0 {
		b = append(b, `,"provenance":[`...)
		for i := range r.Provenance {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendProvenance(b, &r.Provenance[i]); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// appendKey appends a member name (given with its quotes and colon) to an
// object, after a comma unless it is the first member.
func appendKey(b []byte, key string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	return append(b, key...)
}

func appendMetadata(b []byte, m *Metadata) []byte {
	b = append(b, '{')
	if len(m.Titles) > 0 {
		b = appendKey(b, `"titles":`)
		b = appendTexts(b, m.Titles)
	}
	if len(m.Creators) > 0 {
		b = appendKey(b, `"creators":`)
		b = appendPersons(b, m.Creators)
	}
	if len(m.Contributors) > 0 {
		b = appendKey(b, `"contributors":`)
		b = appendPersons(b, m.Contributors)
	}
	if len(m.Subjects) > 0 {
		b = appendKey(b, `"subjects":`)
		b = appendArray(b, m.Subjects, appendSubject)
	}
	if len(m.Descriptions) > 0 {
		b = appendKey(b, `"descriptions":`)
		b = appendTexts(b, m.Descriptions)
	}
	b = appendOptKey(b, `"publisher":`, m.Publisher)
	b = appendOptKey(b, `"issued":`, m.Issued)
	b = appendOptKey(b, `"created":`, m.Created)
	b = appendOptKey(b, `"type":`, m.Type)
	b = appendOptKey(b, `"type_uri":`, m.TypeURI)
	if len(m.Identifiers) > 0 {
		b = appendKey(b, `"identifiers":`)
		b = appendIdentifiers(b, m.Identifiers)
	}
	if len(m.Languages) > 0 {
		b = appendKey(b, `"languages":`)
		b = appendJSONStrings(b, m.Languages)
	}
	b = appendOptKey(b, `"license":`, m.License)
	b = appendOptKey(b, `"license_spdx":`, m.LicenseSPDX)
	if len(m.Rights) > 0 {
		b = appendKey(b, `"rights":`)
		b = appendTexts(b, m.Rights)
	}
	b = appendOptKey(b, `"access_rights":`, m.AccessRights)
	b = appendOptKey(b, `"access_rights_uri":`, m.AccessRightsURI)
	if len(m.Relations) > 0 {
		b = appendKey(b, `"relations":`)
		b = appendArray(b, m.Relations, appendRelation)
	}
	if len(m.Files) > 0 {
		b = appendKey(b, `"files":`)
		b = appendArray(b, m.Files, appendFile)
	}
	return append(b, '}')
}

// appendArray appends xs as a JSON array, each element by elem.
func appendArray[T any](b []byte, xs []T, elem func([]byte, *T) []byte) []byte {
	b = append(b, '[')
	for i := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, &xs[i])
	}
	return append(b, ']')
}

func appendTexts(b []byte, ts []Text) []byte { return appendArray(b, ts, appendText) }

func appendText(b []byte, t *Text) []byte {
	b = append(b, `{"value":`...)
	b = appendJSONString(b, t.Value)
	b = appendOptString(b, `,"lang":`, t.Lang)
	return append(b, '}')
}

func appendPersons(b []byte, ps []Person) []byte { return appendArray(b, ps, appendPerson) }

func appendPerson(b []byte, p *Person) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, p.Name)
	b = appendOptString(b, `,"orcid":`, p.ORCID)
	if len(p.Identifiers) > 0 {
		b = append(b, `,"identifiers":`...)
		b = appendIdentifiers(b, p.Identifiers)
	}
	b = appendOptString(b, `,"affiliation":`, p.Affiliation)
	b = appendOptString(b, `,"role":`, p.Role)
	return append(b, '}')
}

func appendIdentifiers(b []byte, ids []Identifier) []byte {
	return appendArray(b, ids, func(b []byte, id *Identifier) []byte {
		b = append(b, `{"scheme":`...)
		b = appendJSONString(b, id.Scheme)
		b = append(b, `,"value":`...)
		b = appendJSONString(b, id.Value)
		return append(b, '}')
	})
}

func appendSubject(b []byte, s *Subject) []byte {
	b = append(b, `{"value":`...)
	b = appendJSONString(b, s.Value)
	b = appendOptString(b, `,"lang":`, s.Lang)
	b = appendOptString(b, `,"uri":`, s.URI)
	b = appendOptString(b, `,"scheme":`, s.Scheme)
	return append(b, '}')
}

func appendRelation(b []byte, rel *Relation) []byte {
	b = append(b, '{')
	b = appendOptKey(b, `"type":`, rel.Type)
	b = appendOptKey(b, `"scheme":`, rel.Scheme)
	b = appendKey(b, `"value":`)
	b = appendJSONString(b, rel.Value)
	return append(b, '}')
}

func appendFile(b []byte, f *File) []byte {
	b = append(b, `{"url":`...)
	b = appendJSONString(b, f.URL)
	b = appendOptString(b, `,"type":`, f.Type)
	if f.Size != 0 {
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, f.Size, 10)
	}
	b = appendOptString(b, `,"name":`, f.Name)
	b = appendOptString(b, `,"checksum":`, f.Checksum)
	return append(b, '}')
}

func appendOriginal(b []byte, o *Original) []byte {
	b = append(b, `{"prefix":`...)
	b = appendJSONString(b, o.Prefix)
	b = appendOptString(b, `,"namespace":`, o.Namespace)
	b = appendOptString(b, `,"schema":`, o.Schema)
	if len(o.Namespaces) > 0 {
		// encoding/json writes map members sorted by key.
		var arr [8]string
		keys := arr[:0]
		for k := range o.Namespaces {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"namespaces":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, o.Namespaces[k])
		}
		b = append(b, '}')
	}
	// XML is not part of the document.
	return append(b, '}')
}

func appendProvenance(b []byte, p *Provenance) ([]byte, error) {
	b = append(b, `{"base_url":`...)
	b = appendJSONString(b, p.BaseURL)
	b = append(b, `,"identifier":`...)
	b = appendJSONString(b, p.Identifier)
	b = append(b, `,"datestamp":`...)
	b = appendJSONString(b, p.Datestamp)
	b = append(b, `,"harvest_date":`...)
	var err error
	if b, err = appendJSONTime(b, p.HarvestDate); err != nil {
		return b, err
	}
	b = appendOptString(b, `,"metadata_namespace":`, p.MetadataNamespace)
	b = append(b, `,"altered":`...)
	b = strconv.AppendBool(b, p.Altered)
	return append(b, '}'), nil
}

// appendJSONTime appends t as time.Time.MarshalJSON writes it (RFC 3339
// with nanoseconds), failing where it fails, with the error encoding/json
// returns.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b) // what MarshalJSON writes between its quotes
	if err != nil {
		_, err = t.MarshalJSON() // its message, as encoding/json reports it
		return b, &json.MarshalerError{Type: reflect.TypeFor[time.Time](), Err: err}
	}
	return append(b, '"'), nil
}

// appendOptKey appends member key with value s unless s is empty
// (omitempty), after a comma unless it is the object's first member.
func appendOptKey(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	b = appendKey(b, key)
	return appendJSONString(b, s)
}

// appendOptString appends key (given with its comma) and s unless s is
// empty (omitempty).
func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, key...)
	return appendJSONString(b, s)
}

func appendJSONStrings(b []byte, ss []string) []byte {
	return appendArray(b, ss, func(b []byte, s *string) []byte { return appendJSONString(b, *s) })
}

// appendJSONString appends s as a JSON string exactly as json.Marshal
// writes it (HTML escaped).
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s, true) }
