package ld

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	jsonld "github.com/piprate/json-gold/ld"
	"golang.org/x/net/html"

	"github.com/colligo/colligo/ld/linkheader"
	"github.com/colligo/colligo/store"
)

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, u string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// personIdentifier matches the person identifier URIs author links may
// carry.
var personIdentifier = regexp.MustCompile(`^(https://orcid\.org/\d{4}-\d{4}-\d{4}-\d{3}[\dX]|https://isni\.org/isni/\d{15}[\dX]|http://viaf\.org/viaf/\d+)$`)

// genericTypes are media types that do not say which schema the content
// follows: a describedby link with one of them needs a profile.
var genericTypes = []string{"application/xml", "text/xml", "application/json", "application/ld+json", "text/turtle", "application/n-triples", "application/rdf+xml"}

// checkLevel1 checks links against the Signposting Level 1 rules for a
// landing page of record r, and returns the links by relation.
func checkLevel1(t *testing.T, links []linkheader.Link, r *store.Record, cfg Config) map[string][]linkheader.Link {
	t.Helper()
	by := map[string][]linkheader.Link{}
	for _, l := range links {
		if l.Anchor != "" {
			t.Errorf("Level 1 link with an anchor: %v", l)
		}
		for _, rel := range l.Rels() {
			by[rel] = append(by[rel], l)
		}
		if u, err := url.Parse(l.Target); err != nil || !u.IsAbs() {
			t.Errorf("target %q is not an absolute URI", l.Target)
		}
	}
	if n := len(by["cite-as"]); n != 1 {
		t.Errorf("%d cite-as links, want exactly 1", n)
	}
	if n := len(by["license"]); n > 1 {
		t.Errorf("%d license links, want at most 1", n)
	}
	if (r.Metadata.License != "") != (len(by["license"]) == 1) {
		t.Errorf("license links %v for licence %q", by["license"], r.Metadata.License)
	}
	var types []string
	for _, l := range by["type"] {
		types = append(types, l.Target)
	}
	if !slices.Contains(types, "https://schema.org/AboutPage") || !slices.Contains(types, "https://schema.org/"+SchemaType(&r.Metadata)) || len(types) != 2 {
		t.Errorf("type links %v", types)
	}
	if len(by["describedby"]) != len(Formats)-1 {
		t.Errorf("%d describedby links, want %d", len(by["describedby"]), len(Formats)-1)
	}
	for _, l := range by["describedby"] {
		if l.Type == "" {
			t.Errorf("describedby without type: %v", l)
		}
		if _, ok := l.Param("profile"); slices.Contains(genericTypes, l.Type) && !ok {
			t.Errorf("describedby of generic type %s without profile: %v", l.Type, l)
		}
	}
	for _, l := range by["author"] {
		if !personIdentifier.MatchString(l.Target) {
			t.Errorf("author link %q is not a person identifier", l.Target)
		}
	}
	for _, l := range by["item"] {
		if l.Type == "" {
			t.Errorf("item without type: %v", l)
		}
	}
	withID := 0
	for _, c := range r.Metadata.Creators {
		if _, ok := PersonURI(c); ok {
			withID++
		}
	}
	truncated := len(by["author"]) < withID || len(by["item"]) < len(r.Metadata.Files)
	if len(by["author"]) > cfg.MaxAuthors || len(by["item"]) > cfg.MaxItems {
		t.Errorf("%d authors, %d items in the header; limits %d, %d", len(by["author"]), len(by["item"]), cfg.MaxAuthors, cfg.MaxItems)
	}
	var lsTypes []string
	for _, l := range by["linkset"] {
		lsTypes = append(lsTypes, l.Type)
	}
	slices.Sort(lsTypes)
	if truncated && !slices.Equal(lsTypes, []string{TypeLinkset, TypeLinksetJSON}) {
		t.Errorf("header truncated but linkset links are %v", lsTypes)
	}
	return by
}

// htmlLinks reads the <link> elements of a page's head.
func htmlLinks(t *testing.T, page []byte) []linkheader.Link {
	t.Helper()
	var out []linkheader.Link
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if tok.Data == "body" {
				return out
			}
			if tok.Data != "link" {
				continue
			}
			var l linkheader.Link
			for _, a := range tok.Attr {
				switch a.Key {
				case "href":
					l.Target = a.Val
				case "rel":
					l.Rel = a.Val
				case "type":
					l.Type = a.Val
				default:
					l.Params = append(l.Params, linkheader.Param{Name: a.Key, Value: a.Val})
				}
			}
			out = append(out, l)
		}
	}
}

// TestSignpostingLevel1 checks the landing page of records with 0, 1 and
// 500 authors and files: the Link header of GET and HEAD (the same), the
// <link> elements, and the limits, with our own RFC 8288 parser.
func TestSignpostingLevel1(t *testing.T) {
	none := wideRecord(0)
	none.Metadata.License, none.Metadata.Identifiers = "", nil
	recs := []*store.Record{none, wideRecord(1), wideRecord(500), richRecord(), harvestedRecord(), nastyRecord()}
	cfg := DefaultConfig()
	e := newEnv(t, cfg, recs...)
	for _, r := range recs {
		t.Run(r.ID, func(t *testing.T) {
			u := e.base + "/records/" + r.ID
			get := do(t, "GET", u)
			if get.status != 200 || get.header.Get("Content-Type") != TypeHTML {
				t.Fatalf("GET %s: %d %s", u, get.status, get.header.Get("Content-Type"))
			}
			head := do(t, "HEAD", u)
			if len(head.body) != 0 {
				t.Errorf("HEAD has a body")
			}
			for _, h := range []string{"Link", "ETag", "Last-Modified", "Content-Type", "Content-Length", "Vary", "Cache-Control"} {
				if g, hd := get.header.Values(h), head.header.Values(h); !slices.Equal(g, hd) || len(g) == 0 {
					t.Errorf("%s: GET %q, HEAD %q", h, g, hd)
				}
			}
			if n := len(get.header.Get("Link")); n > cfg.MaxLinkHeaderBytes {
				t.Errorf("Link header is %d bytes, limit %d", n, cfg.MaxLinkHeaderBytes)
			}
			links, err := linkheader.Parse(get.header.Values("Link")...)
			if err != nil {
				t.Fatal(err)
			}
			by := checkLevel1(t, links, r, cfg)
			if r.ID == "wide-500" && (len(by["author"]) == 0 || len(by["author"]) == 500 || len(by["item"]) == 500) {
				t.Errorf("500 authors: %d author and %d item links in the header", len(by["author"]), len(by["item"]))
			}
			if strings.HasPrefix(r.ID, "wide-") && r.ID != "wide-500" {
				n := len(r.Metadata.Creators)
				if len(by["author"]) != n || len(by["item"]) != n {
					t.Errorf("%d authors: %d author and %d item links", n, len(by["author"]), len(by["item"]))
				}
			}
			// The <link> elements say the same as the header.
			inHTML := htmlLinks(t, get.body)
			checkLevel1(t, inHTML, r, cfg)
			if len(inHTML) != len(links) {
				t.Fatalf("%d <link> elements, %d links in the header", len(inHTML), len(links))
			}
			for i := range links {
				if links[i].String() != inHTML[i].String() {
					t.Errorf("link %d: header %v, HTML %v", i, links[i], inHTML[i])
				}
			}
			// Level 1 at the record's URL whatever the format.
			jl := do(t, "HEAD", u, "Accept", "application/ld+json")
			if jl.header.Get("Link") != get.header.Get("Link") {
				t.Errorf("JSON-LD at the record URL has other links")
			}
			checkLinkset(t, e, r, links)
			followLinks(t, links)
		})
	}
}

// followLinks follows every describedby and linkset link, by GET and HEAD,
// and checks that it answers with exactly the advertised type, and that
// metadata resources link back with describes and linkset.
func followLinks(t *testing.T, links []linkheader.Link) {
	t.Helper()
	for _, l := range links {
		if !l.HasRel("describedby") && !l.HasRel("linkset") {
			continue
		}
		for _, m := range []string{"GET", "HEAD"} {
			resp := do(t, m, l.Target)
			if resp.status != 200 || resp.header.Get("Content-Type") != l.Type {
				t.Errorf("%s %s: %d %q, advertised %q", m, l.Target, resp.status, resp.header.Get("Content-Type"), l.Type)
			}
			if !l.HasRel("describedby") {
				continue
			}
			back, err := linkheader.Parse(resp.header.Values("Link")...)
			if err != nil {
				t.Fatal(err)
			}
			landing := l.Target[:strings.LastIndex(l.Target, "/")]
			var describes, linksets int
			for _, b := range back {
				if b.HasRel("describes") && b.Target == landing && b.Type == TypeHTML {
					describes++
				}
				if b.HasRel("linkset") {
					linksets++
				}
			}
			if describes != 1 || linksets != 2 {
				t.Errorf("%s: links back %v", l.Target, back)
			}
		}
	}
}

// checkLinkset checks the two forms of the record's linkset: the JSON form
// per RFC 9264 §4.2 (only "linkset", absolute anchors, arrays always), the
// text form parses, both hold every link of the record and every Level 1
// header link.
func checkLinkset(t *testing.T, e *env, r *store.Record, header []linkheader.Link) {
	t.Helper()
	landing := e.base + "/records/" + r.ID
	resp := do(t, "GET", landing+"/linkset.json")
	var doc map[string]any
	if err := json.Unmarshal(resp.body, &doc); err != nil {
		t.Fatalf("linkset JSON: %v", err)
	}
	if len(doc) != 1 || doc["linkset"] == nil {
		t.Fatalf("linkset JSON members: %v", doc)
	}
	var fromJSON []linkheader.Link
	for _, c := range doc["linkset"].([]any) {
		ctx := c.(map[string]any)
		anchor, _ := ctx["anchor"].(string)
		if u, err := url.Parse(anchor); err != nil || !u.IsAbs() {
			t.Errorf("anchor %q is not absolute", anchor)
		}
		for rel, v := range ctx {
			if rel == "anchor" {
				continue
			}
			targets, ok := v.([]any)
			if !ok || len(targets) == 0 {
				t.Errorf("relation %q is not a non-empty array: %v", rel, v)
				continue
			}
			for _, tv := range targets {
				tobj := tv.(map[string]any)
				href, _ := tobj["href"].(string)
				if u, err := url.Parse(href); err != nil || !u.IsAbs() {
					t.Errorf("href %q is not absolute", href)
				}
				if p, ok := tobj["profile"]; ok {
					if _, isArray := p.([]any); !isArray {
						t.Errorf("profile %v is not an array", p)
					}
				}
				typ, _ := tobj["type"].(string)
				fromJSON = append(fromJSON, linkheader.Link{Target: href, Rel: rel, Anchor: anchor, Type: typ})
			}
		}
	}
	text := do(t, "GET", landing+"/linkset")
	if text.header.Get("Content-Type") != TypeLinkset {
		t.Errorf("linkset: %s", text.header.Get("Content-Type"))
	}
	fromText, err := linkheader.Parse(string(text.body))
	if err != nil {
		t.Fatalf("application/linkset does not parse: %v", err)
	}
	key := func(l linkheader.Link) string { return l.Anchor + " " + l.Rel + " " + l.Target + " " + l.Type }
	var a, b []string
	for _, l := range fromJSON {
		a = append(a, key(l))
	}
	for _, l := range fromText {
		if l.Anchor == "" {
			t.Errorf("linkset text link without anchor: %v", l)
		}
		b = append(b, key(l))
	}
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Errorf("JSON and text linksets differ:\n%q\n%q", a, b)
	}
	for _, l := range header {
		if l.HasRel("linkset") {
			continue
		}
		l.Anchor = landing
		if !slices.Contains(b, key(l)) {
			t.Errorf("header link %v is not in the linkset", l)
		}
	}
	count := func(rel, anchor string) int {
		n := 0
		for _, l := range fromText {
			if l.HasRel(rel) && (anchor == "" || l.Anchor == anchor) {
				n++
			}
		}
		return n
	}
	withID := 0
	for _, c := range r.Metadata.Creators {
		if _, ok := PersonURI(c); ok {
			withID++
		}
	}
	if count("author", landing) != withID || count("item", landing) != len(r.Metadata.Files) || count("collection", "") != len(r.Metadata.Files) || count("describes", "") != len(Formats)-1 {
		t.Errorf("linkset: %d authors, %d items, %d collection, %d describes", count("author", landing), count("item", landing), count("collection", ""), count("describes", ""))
	}
	// Content negotiation at /linkset.
	if got := do(t, "HEAD", landing+"/linkset", "Accept", "application/linkset+json").header.Get("Content-Type"); got != TypeLinksetJSON {
		t.Errorf("linkset by Accept: %s", got)
	}
}

func TestContentNegotiation(t *testing.T) {
	r := richRecord()
	e := newEnv(t, DefaultConfig(), r)
	u := e.base + "/records/" + r.ID
	tests := []struct {
		accept, query string
		status        int
		ctype         string
	}{
		{"", "", 200, TypeHTML},
		{"*/*", "", 200, TypeHTML},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", 200, TypeHTML},
		{"application/ld+json", "", 200, "application/ld+json"},
		{"application/json", "", 200, "application/ld+json"},
		{"application/ld+json;profile=\"http://www.w3.org/ns/json-ld#compacted\"", "", 200, "application/ld+json"},
		{"text/turtle", "", 200, "text/turtle"},
		{"text/turtle;q=0.5, application/rdf+xml", "", 200, "application/rdf+xml"},
		{"text/turtle, application/rdf+xml", "", 200, "text/turtle"},
		{"application/n-triples", "", 200, "application/n-triples"},
		{"application/vnd.datacite.datacite+xml", "", 200, "application/vnd.datacite.datacite+xml"},
		{"application/xml", "", 200, "application/xml"},
		{"application/x-bibtex", "", 200, "application/x-bibtex"},
		{"application/vnd.citationstyles.csl+json", "", 200, "application/vnd.citationstyles.csl+json"},
		{"application/*", "", 200, "application/ld+json"},
		{"text/*;q=0.9, text/turtle", "", 200, "text/turtle"},
		{"text/html;q=0, */*;q=0.1", "", 200, "application/ld+json"},
		{"image/png", "", 406, "application/problem+json"},
		{"text/html;q=0", "", 406, "application/problem+json"},
		{"", "format=ttl", 200, "text/turtle"},
		{"text/html", "format=jsonld", 200, "application/ld+json"},
		{"", "format=bibtex", 200, "application/x-bibtex"},
		{"", "format=pdf", 406, "application/problem+json"},
		{"garbage;;;", "", 200, TypeHTML},
	}
	for _, tc := range tests {
		target := u
		if tc.query != "" {
			target += "?" + tc.query
		}
		resp := do(t, "GET", target, "Accept", tc.accept)
		if resp.status != tc.status || resp.header.Get("Content-Type") != tc.ctype {
			t.Errorf("Accept %q %s: %d %s, want %d %s", tc.accept, tc.query, resp.status, resp.header.Get("Content-Type"), tc.status, tc.ctype)
		}
		if resp.header.Get("Vary") != "Accept" {
			t.Errorf("Accept %q: Vary %q", tc.accept, resp.header.Get("Vary"))
		}
		if resp.status == 406 {
			var p struct {
				Status    int      `json:"status"`
				Available []string `json:"available"`
			}
			if err := json.Unmarshal(resp.body, &p); err != nil || p.Status != 406 || len(p.Available) != len(Formats) {
				t.Errorf("406 body %s", resp.body)
			}
		}
	}
	// A format at the record URL names its own URL.
	if got := do(t, "HEAD", u, "Accept", "text/turtle").header.Get("Content-Location"); got != "/records/"+r.ID+"/metadata.ttl" {
		t.Errorf("Content-Location = %q", got)
	}
}

func TestConditionalRequests(t *testing.T) {
	r := richRecord()
	e := newEnv(t, DefaultConfig(), r)
	u := e.base + "/records/" + r.ID
	first := do(t, "GET", u)
	etag, lm := first.header.Get("ETag"), first.header.Get("Last-Modified")
	if !strings.HasPrefix(etag, `"`) || lm == "" {
		t.Fatalf("ETag %q, Last-Modified %q", etag, lm)
	}
	ttl := do(t, "GET", u, "Accept", "text/turtle")
	if ttl.header.Get("ETag") == etag {
		t.Errorf("two representations share an ETag")
	}
	for _, h := range [][]string{{"If-None-Match", etag}, {"If-None-Match", `"x", W/` + etag}, {"If-None-Match", "*"}, {"If-Modified-Since", lm}} {
		resp := do(t, "GET", u, h...)
		if resp.status != 304 || len(resp.body) != 0 || resp.header.Get("ETag") != etag {
			t.Errorf("%s: %d, ETag %q", h, resp.status, resp.header.Get("ETag"))
		}
		if resp.header.Get("Link") == "" {
			t.Errorf("%s: 304 without the Link header", h)
		}
	}
	if resp := do(t, "GET", u, "If-None-Match", `"other"`, "If-Modified-Since", lm); resp.status != 200 {
		t.Errorf("If-None-Match that does not match: %d", resp.status)
	}
	if resp := do(t, "GET", u, "If-Modified-Since", time.Unix(0, 0).UTC().Format(http.TimeFormat)); resp.status != 200 {
		t.Errorf("old If-Modified-Since: %d", resp.status)
	}
	// A new version has a new ETag, and the cache does not serve the old.
	r2 := richRecord()
	r2.Metadata.Titles[0].Value = "A new title"
	if _, err := e.st.Put(context.Background(), r2); err != nil {
		t.Fatal(err)
	}
	resp := do(t, "GET", u, "If-None-Match", etag)
	if resp.status != 200 || resp.header.Get("ETag") == etag || !bytes.Contains(resp.body, []byte("A new title")) {
		t.Errorf("after an update: %d, ETag %q", resp.status, resp.header.Get("ETag"))
	}
}

func TestTombstone(t *testing.T) {
	r := richRecord()
	e := newEnv(t, DefaultConfig(), r)
	if _, err := e.st.Delete(context.Background(), r.ID); err != nil {
		t.Fatal(err)
	}
	u := e.base + "/records/" + r.ID
	for _, m := range []string{"GET", "HEAD"} {
		resp := do(t, m, u)
		if resp.status != 410 || resp.header.Get("Content-Type") != TypeHTML {
			t.Fatalf("%s deleted: %d %s", m, resp.status, resp.header.Get("Content-Type"))
		}
		links, err := linkheader.Parse(resp.header.Values("Link")...)
		if err != nil || len(links) != 1 || !links[0].HasRel("cite-as") || links[0].Target != "https://doi.org/10.5281/zenodo.123456" {
			t.Errorf("%s deleted: links %v, %v", m, links, err)
		}
		if m == "GET" {
			for _, want := range []string{"withdrawn on", "Doe, Jane", "Glacier mass balance", "https://doi.org/10.5281/zenodo.123456", `content="noindex"`} {
				if !bytes.Contains(resp.body, []byte(want)) {
					t.Errorf("tombstone page lacks %q", want)
				}
			}
			if bytes.Contains(resp.body, []byte("application/ld+json\">")) {
				t.Errorf("tombstone page has JSON-LD")
			}
		}
	}
	for _, target := range []string{u + "?format=ttl", u + "/metadata.jsonld", u + "/linkset.json"} {
		resp := do(t, "GET", target)
		if resp.status != 410 || resp.header.Get("Content-Type") != "application/problem+json" || !bytes.Contains(resp.body, []byte("withdrawn")) {
			t.Errorf("%s: %d %s %s", target, resp.status, resp.header.Get("Content-Type"), resp.body)
		}
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t, DefaultConfig(), richRecord())
	for _, u := range []string{"/records/nope", "/records/nope/metadata.ttl", "/records/glacier-2020/metadata.pdf", "/records/bad%20id"} {
		resp := do(t, "GET", e.base+u)
		if resp.status != 404 || resp.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", u, resp.status, resp.header.Get("Content-Type"))
		}
	}
}

// TestContextServedAndUsableOnline: our context is served as
// application/ld+json, and a JSON-LD processor that fetches contexts over
// HTTP (json-gold's default loader) expands our JSON-LD to the graph our
// offline loader gives.
func TestContextServedAndUsableOnline(t *testing.T) {
	r := richRecord()
	e := newEnv(t, DefaultConfig(), r)
	resp := do(t, "GET", e.base+ContextPath)
	if resp.status != 200 || resp.header.Get("Content-Type") != "application/ld+json" || !bytes.Equal(resp.body, contextV1) {
		t.Fatalf("context: %d %s", resp.status, resp.header.Get("Content-Type"))
	}
	if !strings.Contains(resp.header.Get("Cache-Control"), "max-age=31536000") {
		t.Errorf("context Cache-Control %q", resp.header.Get("Cache-Control"))
	}
	if again := do(t, "GET", e.base+ContextPath, "If-None-Match", resp.header.Get("ETag")); again.status != 304 {
		t.Errorf("context revalidation: %d", again.status)
	}
	body := do(t, "GET", e.base+"/records/"+r.ID+"/metadata.jsonld").body
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	opts := jsonld.NewJsonLdOptions("")
	opts.DocumentLoader = jsonld.NewDefaultDocumentLoader(&http.Client{Timeout: 10 * time.Second})
	ds, err := jsonld.NewJsonLdProcessor().ToRDF(doc, opts)
	if err != nil {
		t.Fatalf("online expansion: %v", err)
	}
	stored, err := e.st.Get(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.pub.Graph(stored)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := canonical(t, GraphFromDataset(ds.(*jsonld.RDFDataset), want.Root)), canonical(t, want); a != b {
		t.Errorf("online graph differs:\n%s\nwant\n%s", a, b)
	}
}
