// Package gen generates realistic scholarly records: for the demo
// collection that `colligo serve --demo` loads, and for benchmarks, which
// need a million records with realistic field lengths. Output is
// deterministic for a seed, so benchmark runs are comparable.
package gen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
)

// Institution describes who publishes the generated records.
type Institution struct {
	// Name is the publisher ("Universität Beispielstadt").
	Name string
	// Domain is the repository's domain, used in identifiers and URLs.
	Domain string
	// DOIPrefix is the DOI prefix of its records (10.5072 is DataCite's
	// test prefix).
	DOIPrefix string
	// Lang is the language most of its records are catalogued in.
	Lang string
}

// Institutions are three fictional consortium members, each cataloguing
// in its own language, for the demo nodes.
var Institutions = []Institution{
	{Name: "Example University", Domain: "uni-a.example", DOIPrefix: "10.5072/uni-a", Lang: "en"},
	{Name: "Universität Beispielstadt", Domain: "uni-b.example", DOIPrefix: "10.5072/uni-b", Lang: "de"},
	{Name: "Université d'Exemple", Domain: "uni-c.example", DOIPrefix: "10.5072/uni-c", Lang: "fr"},
}

// Generator makes records. It is not safe for concurrent use.
type Generator struct {
	seed uint64
	inst Institution
}

// New returns a generator for an institution.
func New(seed uint64, inst Institution) *Generator { return &Generator{seed: seed, inst: inst} }

var (
	words = strings.Fields(`analysis approach assessment behaviour boundary carbon catchment climate cohort comparison
		composition coupling crystal cultural dataset density deposition diffusion dynamics ecology emission energy
		evidence evolution experiment exposure field flow framework genome glacier gradient groundwater growth habitat
		heterogeneity historical hydrology imaging impact inference interaction isotope landscape language learning
		lineage manuscript measurement memory method microbial migration model modelling monitoring morphology network
		nitrogen observation ocean optical outcome particle pattern perception permafrost phylogeny plasma policy
		population precipitation protein quantum radiation rainfall reconstruction regional resilience response
		sediment sensor signal simulation soil spatial spectroscopy stability structure survey synthesis temperature
		temporal theory tissue trajectory transport uncertainty urban variability vegetation velocity water wave`)
	adjectives = strings.Fields(`alpine annual arctic coastal comparative computational early global high-resolution
		integrated late long-term marine medieval multi-scale neural novel regional remote rural seasonal semantic
		spatial statistical subglacial temporal tropical urban`)
	places   = strings.Fields(`Alps Andes Baltic Danube Greenland Himalaya Iberia Mediterranean Rhine Sahel Scandinavia Siberia Tyrol Vienna Zurich`)
	given    = strings.Fields(`Jane John Maria José Anna Lukas Sophie Mohammed Aiko Chen Olga Pierre Élodie Søren Zoë Ahmet Ingrid Björn Lucía Matteo Nadia Tomasz Yuki Fatima Kwame`)
	families = strings.Fields(`Doe Müller García Rossi Novák Dubois Kowalski Hansen Nakamura Wang Petrov Silva O'Brien Öztürk Jensen Ferreira Schmidt Martin Bernard Costa Yilmaz Lindqvist Horvath Mensah Ibrahim`)
	// Types as institutions really catalogue them: different words for the
	// same thing, in several languages, some with COAR URIs.
	types = []struct{ text, uri string }{
		{"Article", ""}, {"journal article", "http://purl.org/coar/resource_type/c_6501"}, {"Zeitschriftenartikel", ""},
		{"article de journal", ""}, {"Dataset", "http://purl.org/coar/resource_type/c_ddb1"}, {"Datensatz", ""},
		{"jeu de données", ""}, {"Software", "http://purl.org/coar/resource_type/c_5ce6"}, {"Doctoral thesis", ""},
		{"Dissertation", ""}, {"conference paper", "http://purl.org/coar/resource_type/c_5794"}, {"Preprint", ""},
		{"Report", ""}, {"Forschungsbericht", ""}, {"Book", ""}, {"book chapter", ""},
	}
	subjects = []struct{ en, de, fr string }{
		{"glaciology", "Glaziologie", "glaciologie"}, {"climate change", "Klimawandel", "changement climatique"},
		{"hydrology", "Hydrologie", "hydrologie"}, {"ecology", "Ökologie", "écologie"}, {"linguistics", "Linguistik", "linguistique"},
		{"history", "Geschichte", "histoire"}, {"machine learning", "maschinelles Lernen", "apprentissage automatique"},
		{"oceanography", "Ozeanographie", "océanographie"}, {"genomics", "Genomik", "génomique"},
		{"particle physics", "Teilchenphysik", "physique des particules"}, {"remote sensing", "Fernerkundung", "télédétection"},
		{"soil science", "Bodenkunde", "science du sol"}, {"public health", "öffentliche Gesundheit", "santé publique"},
		{"archaeology", "Archäologie", "archéologie"}, {"neuroscience", "Neurowissenschaften", "neurosciences"},
	}
	licenses = []string{"https://creativecommons.org/licenses/by/4.0/", "https://creativecommons.org/publicdomain/zero/1.0/",
		"https://creativecommons.org/licenses/by-sa/4.0/", "https://creativecommons.org/licenses/by-nc/4.0/", "https://opensource.org/licenses/MIT"}
	mediaTypes = []string{"text/csv", "application/pdf", "application/zip", "application/x-netcdf", "image/tiff", "text/plain"}
	extensions = map[string]string{"text/csv": "csv", "application/pdf": "pdf", "application/zip": "zip", "application/x-netcdf": "nc", "image/tiff": "tif", "text/plain": "txt"}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// ORCID returns a valid ORCID iD (check digit included) made from n.
func ORCID(n uint64) string {
	// Real iDs are 0000-0001-... to 0000-0003-... (and 0009-).
	digits := fmt.Sprintf("0000000%d%07d", 1+n%3, (n/3)%10_000_000)
	total := 0
	for i := 0; i < 15; i++ {
		total = (total + int(digits[i]-'0')) * 2
	}
	check := (12 - total%11) % 11
	c := byte('0' + check)
	if check == 10 {
		c = 'X'
	}
	d := digits + string(c)
	return d[0:4] + "-" + d[4:8] + "-" + d[8:12] + "-" + d[12:16]
}

// Record returns the i-th record of the collection: the same i always
// gives the same record.
func (g *Generator) Record(i int) *store.Record {
	r := rand.New(rand.NewPCG(g.seed, uint64(i)))
	lang := g.inst.Lang
	if r.IntN(3) == 0 {
		lang = "en"
	}
	title := fmt.Sprintf("%s %s of %s %s in the %s, %d",
		capitalize(pick(r, adjectives)), pick(r, words), pick(r, words), pick(r, words), pick(r, places), 1990+r.IntN(35))
	if r.IntN(2) == 0 {
		title += ": " + pick(r, words) + " and " + pick(r, words) + " " + pick(r, words)
	}
	m := store.Metadata{
		Titles:    []store.Text{{Value: title, Lang: "en"}},
		Publisher: g.inst.Name,
		Languages: []string{lang},
	}
	for n := 1 + r.IntN(6); n > 0; n-- {
		p := store.Person{Name: pick(r, families) + ", " + pick(r, given)}
		if r.IntN(2) == 0 {
			p.ORCID = ORCID(r.Uint64())
		}
		if r.IntN(3) == 0 {
			p.Affiliation = g.inst.Name
		}
		m.Creators = append(m.Creators, p)
	}
	for n := 2 + r.IntN(4); n > 0; n-- {
		s := pick(r, subjects)
		switch lang {
		case "de":
			m.Subjects = append(m.Subjects, store.Subject{Value: s.de, Lang: "de"})
		case "fr":
			m.Subjects = append(m.Subjects, store.Subject{Value: s.fr, Lang: "fr"})
		default:
			m.Subjects = append(m.Subjects, store.Subject{Value: s.en, Lang: "en"})
		}
	}
	var desc strings.Builder
	for n := 4 + r.IntN(16); n > 0; n-- {
		fmt.Fprintf(&desc, "We report %s %s and %s %s across %d sites. ", pick(r, adjectives), pick(r, words), pick(r, words), pick(r, words), 2+r.IntN(200))
	}
	m.Descriptions = []store.Text{{Value: strings.TrimSpace(desc.String()), Lang: "en"}}
	year := 2000 + r.IntN(25)
	m.Issued = fmt.Sprintf("%d-%02d-%02d", year, 1+r.IntN(12), 1+r.IntN(28))
	t := pick(r, types)
	m.Type, m.TypeURI = t.text, t.uri
	m.Identifiers = []store.Identifier{
		{Scheme: "doi", Value: fmt.Sprintf("%s.%d", strings.ToLower(g.inst.DOIPrefix), i)},
		{Scheme: "url", Value: fmt.Sprintf("https://%s/items/%d", g.inst.Domain, i)},
	}
	m.License = pick(r, licenses)
	m.AccessRights, m.AccessRightsURI = "open access", "http://purl.org/coar/access_right/c_abf2"
	for n := r.IntN(4); n > 0; n-- {
		mt := pick(r, mediaTypes)
		m.Files = append(m.Files, store.File{
			URL:  fmt.Sprintf("https://%s/files/%d/%s-%d.%s", g.inst.Domain, i, pick(r, words), n, extensions[mt]),
			Type: mt, Size: int64(1000 + r.IntN(50_000_000)),
		})
	}
	if r.IntN(4) == 0 {
		m.Relations = []store.Relation{{Type: "IsSupplementTo", Scheme: "doi", Value: fmt.Sprintf("10.5072/journal.%d", r.IntN(100000))}}
	}
	return &store.Record{ID: fmt.Sprintf("%s-%d", strings.Split(g.inst.Domain, ".")[0], i), Metadata: m}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// OAIIdentifier is the identifier the i-th record has in WriteOAIDC output.
func (g *Generator) OAIIdentifier(i int) string { return fmt.Sprintf("oai:%s:%d", g.inst.Domain, i) }

// WriteOAIDC writes records [from, to) as an OAI-PMH ListRecords response
// in oai_dc: what `colligo import` reads and what the import benchmark
// uses. Every 50th record is a deleted header when withDeleted is set.
func (g *Generator) WriteOAIDC(w io.Writer, from, to int, withDeleted bool) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">
<responseDate>%s</responseDate>
<request verb="ListRecords" metadataPrefix="oai_dc">https://%s/oai</request>
<ListRecords>
`, base.Format(time.RFC3339), g.inst.Domain)
	buf := make([]byte, 0, 4096)
	for i := from; i < to; i++ {
		buf = buf[:0]
		ds := base.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05Z")
		if withDeleted && i%50 == 49 {
			buf = fmt.Appendf(buf, "<record><header status=\"deleted\"><identifier>%s</identifier><datestamp>%s</datestamp></header></record>\n", g.OAIIdentifier(i), ds)
		} else {
			r := g.Record(i)
			buf = fmt.Appendf(buf, "<record><header><identifier>%s</identifier><datestamp>%s</datestamp><setSpec>%s</setSpec></header><metadata>", g.OAIIdentifier(i), ds, "collection:main")
			buf = append(buf, crosswalk.OAIDC(r, "")...)
			buf = append(buf, "</metadata></record>\n"...)
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	bw.WriteString("</ListRecords>\n</OAI-PMH>\n")
	return bw.Flush()
}

// WriteJSONL writes records [from, to) as JSON Lines of native records.
func (g *Generator) WriteJSONL(w io.Writer, from, to int) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	for i := from; i < to; i++ {
		if err := enc.Encode(g.Record(i)); err != nil {
			return err
		}
	}
	return bw.Flush()
}
