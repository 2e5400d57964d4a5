package crosswalk

import (
	"strings"

	"github.com/colligo/colligo/store"
)

// dataciteGeneral maps kinds to DataCite 4.5 resourceTypeGeneral values.
var dataciteGeneral = map[Kind]string{
	Other: "Other", Article: "JournalArticle", Preprint: "Preprint", ConferencePaper: "ConferencePaper",
	Book: "Book", BookChapter: "BookChapter", Thesis: "Dissertation", Report: "Report",
	Dataset: "Dataset", Software: "Software", Image: "Image", Video: "Audiovisual", Audio: "Sound",
	Collection: "Collection", Text: "Text",
}

// relatedTypes maps identifier schemes to DataCite relatedIdentifierType.
var relatedTypes = map[string]string{
	"doi": "DOI", "handle": "Handle", "url": "URL", "arxiv": "arXiv", "isbn": "ISBN", "issn": "ISSN",
	"urn": "URN", "pmid": "PMID", "ark": "ARK", "purl": "PURL", "lsid": "LSID", "ean13": "EAN13", "bibcode": "bibcode",
}

// DataCiteGeneral returns the DataCite resourceTypeGeneral of a record.
func DataCiteGeneral(m *store.Metadata) string { return dataciteGeneral[KindOf(m)] }

// DataCite renders a record in the DataCite Metadata Schema 4.5 (a
// <resource> element), as the provider's oai_datacite format and the
// application/vnd.datacite.datacite+xml representation. landing is the
// record's landing page, the identifier when the record has no DOI or
// handle; issuedYear is used when the metadata has no date.
func DataCite(r *store.Record, landing string) []byte {
	m := &r.Metadata
	b := make([]byte, 0, 2048)
	b = append(b, `<resource xmlns="http://datacite.org/schema/kernel-4" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://datacite.org/schema/kernel-4 http://schema.datacite.org/meta/kernel-4.5/metadata.xsd">`...)
	// identifier: the DOI, else a handle, else the landing page.
	idType, idValue := "URL", landing
	for _, id := range m.Identifiers {
		if id.Scheme == "doi" {
			idType, idValue = "DOI", id.Value
			break
		}
		if id.Scheme == "handle" && idType == "URL" {
			idType, idValue = "Handle", id.Value
		}
	}
	b = elemAttr(b, "identifier", idValue, "identifierType", idType)
	b = append(b, "<creators>"...)
	if len(m.Creators) == 0 {
		b = append(b, "<creator><creatorName>:unav</creatorName></creator>"...)
	}
	for _, p := range m.Creators {
		b = append(b, "<creator>"...)
		b = appendPerson(b, "creator", p)
		b = append(b, "</creator>"...)
	}
	b = append(b, "</creators><titles>"...)
	for _, t := range m.Titles {
		b = langElem(b, "title", t.Value, t.Lang)
	}
	if len(m.Titles) == 0 {
		b = append(b, "<title>:unav</title>"...)
	}
	b = append(b, "</titles>"...)
	pub := m.Publisher
	if pub == "" {
		pub = ":unav"
	}
	b = elem(b, "publisher", pub)
	b = elem(b, "publicationYear", PublicationYear(r))
	general := DataCiteGeneral(m)
	typeText := m.Type
	if typeText == "" {
		typeText = general
	}
	b = elemAttr(b, "resourceType", typeText, "resourceTypeGeneral", general)
	if len(m.Subjects) > 0 {
		b = append(b, "<subjects>"...)
		for _, s := range m.Subjects {
			b = append(b, "<subject"...)
			if s.Lang != "" {
				b = attr(b, "xml:lang", s.Lang)
			}
			if s.Scheme != "" {
				b = attr(b, "subjectScheme", s.Scheme)
			}
			if s.URI != "" {
				b = attr(b, "valueURI", s.URI)
			}
			b = append(b, '>')
			v := s.Value
			if v == "" {
				v = s.URI
			}
			b = AppendEscaped(b, v)
			b = append(b, "</subject>"...)
		}
		b = append(b, "</subjects>"...)
	}
	if len(m.Contributors) > 0 {
		b = append(b, "<contributors>"...)
		for _, p := range m.Contributors {
			b = append(b, "<contributor"...)
			b = attr(b, "contributorType", contributorType(p.Role))
			b = append(b, '>')
			b = appendPerson(b, "contributor", p)
			b = append(b, "</contributor>"...)
		}
		b = append(b, "</contributors>"...)
	}
	if m.Issued != "" || m.Created != "" {
		b = append(b, "<dates>"...)
		if m.Issued != "" {
			b = elemAttr(b, "date", m.Issued, "dateType", "Issued")
		}
		if m.Created != "" {
			b = elemAttr(b, "date", m.Created, "dateType", "Created")
		}
		b = append(b, "</dates>"...)
	}
	if len(m.Languages) > 0 {
		b = elem(b, "language", m.Languages[0])
	}
	var alt []store.Identifier
	for _, id := range m.Identifiers {
		if !(id.Scheme == "doi" && idType == "DOI" && id.Value == idValue) && !(id.Scheme == "handle" && idType == "Handle" && id.Value == idValue) {
			alt = append(alt, id)
		}
	}
	if len(alt) > 0 {
		b = append(b, "<alternateIdentifiers>"...)
		for _, id := range alt {
			t := relatedTypes[id.Scheme]
			if t == "" {
				t = id.Scheme
			}
			b = elemAttr(b, "alternateIdentifier", id.Value, "alternateIdentifierType", t)
		}
		b = append(b, "</alternateIdentifiers>"...)
	}
	var rels []store.Relation
	for _, rel := range m.Relations {
		if relatedTypes[rel.Scheme] != "" {
			rels = append(rels, rel)
		}
	}
	if len(rels) > 0 {
		b = append(b, "<relatedIdentifiers>"...)
		for _, rel := range rels {
			rt := rel.Type
			if rt == "" {
				rt = "References"
			}
			b = append(b, "<relatedIdentifier"...)
			b = attr(b, "relatedIdentifierType", relatedTypes[rel.Scheme])
			b = attr(b, "relationType", rt)
			b = append(b, '>')
			b = AppendEscaped(b, rel.Value)
			b = append(b, "</relatedIdentifier>"...)
		}
		b = append(b, "</relatedIdentifiers>"...)
	}
	var formats []string
	for _, f := range m.Files {
		if f.Type != "" && !contains(formats, f.Type) {
			formats = append(formats, f.Type)
		}
	}
	if len(formats) > 0 {
		b = append(b, "<formats>"...)
		for _, f := range formats {
			b = elem(b, "format", f)
		}
		b = append(b, "</formats>"...)
	}
	if m.License != "" || m.AccessRightsURI != "" || len(m.Rights) > 0 {
		b = append(b, "<rightsList>"...)
		if m.License != "" {
			b = append(b, "<rights"...)
			b = attr(b, "rightsURI", m.License)
			if m.LicenseSPDX != "" {
				b = attr(b, "rightsIdentifier", m.LicenseSPDX)
				b = attr(b, "rightsIdentifierScheme", "SPDX")
				b = attr(b, "schemeURI", "https://spdx.org/licenses/")
			}
			b = append(b, '>')
			b = AppendEscaped(b, m.LicenseSPDX)
			b = append(b, "</rights>"...)
		}
		if m.AccessRightsURI != "" {
			b = append(b, "<rights"...)
			b = attr(b, "rightsURI", m.AccessRightsURI)
			b = append(b, '>')
			b = AppendEscaped(b, m.AccessRights)
			b = append(b, "</rights>"...)
		}
		for _, t := range m.Rights {
			b = langElem(b, "rights", t.Value, t.Lang)
		}
		b = append(b, "</rightsList>"...)
	}
	if len(m.Descriptions) > 0 {
		b = append(b, "<descriptions>"...)
		for _, d := range m.Descriptions {
			b = append(b, "<description"...)
			if d.Lang != "" {
				b = attr(b, "xml:lang", d.Lang)
			}
			b = attr(b, "descriptionType", "Abstract")
			b = append(b, '>')
			b = AppendEscaped(b, d.Value)
			b = append(b, "</description>"...)
		}
		b = append(b, "</descriptions>"...)
	}
	return append(b, "</resource>"...)
}

// PublicationYear returns the year a record was issued: from Issued, else
// Created, else its datestamp.
func PublicationYear(r *store.Record) string {
	for _, d := range []string{r.Metadata.Issued, r.Metadata.Created} {
		if len(d) >= 4 {
			return d[:4]
		}
	}
	if !r.Datestamp.IsZero() {
		return r.Datestamp.Format("2006")
	}
	return ":unav"
}

// contributorTypes maps lower-case roles to DataCite contributorType values.
var contributorTypes = func() map[string]string {
	m := map[string]string{}
	for _, t := range []string{"ContactPerson", "DataCollector", "DataCurator", "DataManager", "Distributor", "Editor",
		"HostingInstitution", "Producer", "ProjectLeader", "ProjectManager", "ProjectMember", "RegistrationAgency",
		"RegistrationAuthority", "RelatedPerson", "Researcher", "ResearchGroup", "RightsHolder", "Sponsor",
		"Supervisor", "WorkPackageLeader", "Other"} {
		m[strings.ToLower(t)] = t
	}
	return m
}()

func contributorType(role string) string {
	if t, ok := contributorTypes[strings.ToLower(strings.ReplaceAll(role, " ", ""))]; ok {
		return t
	}
	return "Other"
}

func appendPerson(b []byte, kind string, p store.Person) []byte {
	b = append(b, '<')
	b = append(b, kind...)
	b = append(b, "Name"...)
	if strings.Contains(p.Name, ",") || p.ORCID != "" {
		b = attr(b, "nameType", "Personal")
	}
	b = append(b, '>')
	b = AppendEscaped(b, p.Name)
	b = append(b, "</"...)
	b = append(b, kind...)
	b = append(b, "Name>"...)
	if family, given, ok := strings.Cut(p.Name, ","); ok {
		b = elem(b, "givenName", strings.TrimSpace(given))
		b = elem(b, "familyName", strings.TrimSpace(family))
	}
	if p.ORCID != "" {
		b = append(b, "<nameIdentifier"...)
		b = attr(b, "nameIdentifierScheme", "ORCID")
		b = attr(b, "schemeURI", "https://orcid.org")
		b = append(b, '>')
		b = append(b, "https://orcid.org/"...)
		b = append(b, p.ORCID...)
		b = append(b, "</nameIdentifier>"...)
	}
	for _, id := range p.Identifiers {
		b = elemAttr(b, "nameIdentifier", id.Value, "nameIdentifierScheme", strings.ToUpper(id.Scheme))
	}
	if p.Affiliation != "" {
		b = elem(b, "affiliation", p.Affiliation)
	}
	return b
}

func attr(b []byte, name, value string) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, `="`...)
	b = AppendEscaped(b, value)
	return append(b, '"')
}

func elem(b []byte, name, value string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = AppendEscaped(b, value)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

func elemAttr(b []byte, name, value, an, av string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = attr(b, an, av)
	b = append(b, '>')
	b = AppendEscaped(b, value)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

func langElem(b []byte, name, value, lang string) []byte {
	if lang == "" {
		return elem(b, name, value)
	}
	return elemAttr(b, name, value, "xml:lang", lang)
}
