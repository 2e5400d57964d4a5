package harvest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// testRepo is an OAI-PMH repository for tests: generated records served
// by an httptest server, in pages with resumption tokens, with from, set
// and day granularity, and a fault hook that may answer a request instead.
type testRepo struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	recs     []*testRecord // in datestamp order
	pageSize int
	day      bool   // granularity YYYY-MM-DD
	deleted  string // deletedRecord; default "persistent"
	now      time.Time
	// rejectTimeFrom answers badArgument to a from with a time.
	rejectTimeFrom bool
	// formats are the metadataPrefixes served; oai_dc always.
	formats map[string]string // prefix -> namespace
	// fault, if set, may answer a request itself (returning true). n counts
	// requests from 1.
	fault func(w http.ResponseWriter, r *http.Request, n int) bool
	// tokens maps a served token to the offset it stands for, so tests can
	// change what a token means.
	requests []string
	n        int
}

type testRecord struct {
	ident   string
	ds      time.Time
	sets    []string
	deleted bool
	// payloads by prefix; the oai_dc one is the record's rendition.
	payloads map[string][]byte
	// withMetadataWhenDeleted sends the payload with a deleted header.
	withMetadataWhenDeleted bool
}

var testBase = time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)

// newTestRepo serves n generated records, one per second from testBase,
// every 20th in set "b", the others in "a:x".
func newTestRepo(t testing.TB, n int) *testRepo {
	rp := &testRepo{t: t, pageSize: 100, deleted: "persistent", formats: map[string]string{}}
	g := gen.New(7, gen.Institutions[0])
	for i := 0; i < n; i++ {
		rp.recs = append(rp.recs, rp.genRecord(g, i, testBase.Add(time.Duration(i)*time.Second)))
	}
	rp.now = testBase.Add(time.Duration(n)*time.Second + time.Hour)
	rp.srv = httptest.NewUnstartedServer(http.HandlerFunc(rp.serve))
	rp.srv.Start()
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *testRepo) genRecord(g *gen.Generator, i int, ds time.Time) *testRecord {
	set := "a:x"
	if i%20 == 0 {
		set = "b"
	}
	return &testRecord{
		ident:    g.OAIIdentifier(i),
		ds:       ds,
		sets:     []string{set},
		payloads: map[string][]byte{"oai_dc": crosswalk.OAIDC(g.Record(i), "")},
	}
}

func (rp *testRepo) URL() string { return rp.srv.URL + "/oai" }

// touch gives record i a new datestamp (now, then advances the clock) and
// optionally a new title; it moves to the end of the datestamp order.
func (rp *testRepo) touch(i int, title string, deleted bool) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	var r *testRecord
	ident := gen.New(7, gen.Institutions[0]).OAIIdentifier(i)
	for k, x := range rp.recs {
		if x.ident == ident {
			r = x
			rp.recs = append(rp.recs[:k], rp.recs[k+1:]...)
			break
		}
	}
	if r == nil {
		rp.t.Fatalf("touch: no record %d", i)
	}
	rp.now = rp.now.Add(time.Second)
	r.ds = rp.now
	r.deleted = deleted
	if title != "" {
		rec := gen.New(7, gen.Institutions[0]).Record(i)
		rec.Metadata.Titles = []store.Text{{Value: title}}
		r.payloads["oai_dc"] = crosswalk.OAIDC(rec, "")
	}
	rp.recs = append(rp.recs, r)
	rp.now = rp.now.Add(time.Second)
}

func (rp *testRepo) requestLog() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return slices.Clone(rp.requests)
}

func (rp *testRepo) dsString(t time.Time) string {
	if rp.day {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04:05Z")
}

func (rp *testRepo) serve(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	rp.n++
	n := rp.n
	rp.requests = append(rp.requests, r.URL.RawQuery)
	fault := rp.fault
	rp.mu.Unlock()
	if fault != nil && fault(w, r, n) {
		return
	}
	rp.answer(w, r)
}

// render returns the normal answer to a query, for faults that alter it.
func (rp *testRepo) render(query string) []byte {
	rec := httptest.NewRecorder()
	rp.answer(rec, httptest.NewRequest("GET", "/oai?"+query, nil))
	return rec.Body.Bytes()
}

// answer answers a request normally.
func (rp *testRepo) answer(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	q := r.URL.Query()
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">
<responseDate>%s</responseDate><request>%s</request>`, rp.now.Format(time.RFC3339), rp.URL())
	oaiErr := func(code, msg string) {
		fmt.Fprintf(&b, `<error code="%s">%s</error></OAI-PMH>`, code, msg)
		w.Header().Set("Content-Type", "text/xml")
		w.Write(b.Bytes())
	}
	switch q.Get("verb") {
	case "Identify":
		gran := "YYYY-MM-DDThh:mm:ssZ"
		if rp.day {
			gran = "YYYY-MM-DD"
		}
		fmt.Fprintf(&b, `<Identify><repositoryName>Test</repositoryName><baseURL>%s</baseURL><protocolVersion>2.0</protocolVersion><adminEmail>a@b.example</adminEmail><earliestDatestamp>%s</earliestDatestamp><deletedRecord>%s</deletedRecord><granularity>%s</granularity></Identify></OAI-PMH>`,
			rp.URL(), rp.dsString(testBase), rp.deleted, gran)
	case "ListMetadataFormats":
		b.WriteString(`<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix><schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema><metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace></metadataFormat>`)
		for p, ns := range rp.formats {
			fmt.Fprintf(&b, `<metadataFormat><metadataPrefix>%s</metadataPrefix><schema>https://schema.example/%s.xsd</schema><metadataNamespace>%s</metadataNamespace></metadataFormat>`, p, p, ns)
		}
		b.WriteString(`</ListMetadataFormats></OAI-PMH>`)
	case "ListRecords":
		prefix, from, set, offset := q.Get("metadataPrefix"), q.Get("from"), q.Get("set"), 0
		if tok := q.Get("resumptionToken"); tok != "" {
			v, err := url.ParseQuery(tok)
			if err != nil || v.Get("o") == "" {
				oaiErr("badResumptionToken", "unknown token "+tok)
				return
			}
			offset, _ = strconv.Atoi(v.Get("o"))
			prefix, from, set = v.Get("p"), v.Get("f"), v.Get("s")
		}
		if _, ok := rp.formats[prefix]; !ok && prefix != "oai_dc" {
			oaiErr("cannotDisseminateFormat", prefix)
			return
		}
		var fromT time.Time
		if from != "" {
			if rp.rejectTimeFrom && strings.Contains(from, "T") {
				oaiErr("badArgument", "from must be YYYY-MM-DD")
				return
			}
			t, ok := parseDatestamp(from)
			if !ok {
				oaiErr("badArgument", "bad from "+from)
				return
			}
			fromT = t
		}
		var match []*testRecord
		for _, x := range rp.recs {
			ds := x.ds
			if rp.day {
				ds = ds.Truncate(24 * time.Hour)
			}
			if ds.Before(fromT) {
				continue
			}
			if set != "" && !inSet(x.sets, set) && !x.deleted {
				continue
			}
			if _, ok := x.payloads[prefix]; !ok && !x.deleted {
				continue
			}
			match = append(match, x)
		}
		if len(match) == 0 {
			oaiErr("noRecordsMatch", "")
			return
		}
		end := min(offset+rp.pageSize, len(match))
		b.WriteString("<ListRecords>")
		for _, x := range match[offset:end] {
			status := ""
			if x.deleted {
				status = ` status="deleted"`
			}
			fmt.Fprintf(&b, `<record><header%s><identifier>%s</identifier><datestamp>%s</datestamp>`, status, x.ident, rp.dsString(x.ds))
			for _, s := range x.sets {
				fmt.Fprintf(&b, `<setSpec>%s</setSpec>`, s)
			}
			b.WriteString("</header>")
			if !x.deleted || x.withMetadataWhenDeleted {
				b.WriteString("<metadata>")
				b.Write(x.payloads[prefix])
				b.WriteString("</metadata>")
			}
			b.WriteString("</record>\n")
		}
		if end < len(match) {
			tok := url.Values{"o": {strconv.Itoa(end)}, "p": {prefix}, "f": {from}, "s": {set}}.Encode()
			fmt.Fprintf(&b, `<resumptionToken completeListSize="%d" cursor="%d">%s</resumptionToken>`, len(match), offset, escape(tok))
		} else if offset > 0 {
			fmt.Fprintf(&b, `<resumptionToken completeListSize="%d" cursor="%d"/>`, len(match), offset)
		}
		b.WriteString("</ListRecords></OAI-PMH>")
	default:
		oaiErr("badVerb", "")
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(b.Bytes())
}

func escape(s string) string {
	return string(crosswalk.AppendEscaped(nil, s))
}

// openTestStore opens a store in a temp dir that derives like a node: the
// oai_dc rendition and the source:<origin> set.
func openTestStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(store.Config{Dir: dir, RepositoryID: "node-b.example", Derive: testDerive})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testDerive(r *store.Record) (store.Derived, error) {
	d := store.Derived{Renditions: map[string][]byte{"oai_dc": crosswalk.OAIDC(r, "https://node-b.example/records/"+r.ID)}}
	if r.Origin != "" && store.ValidSetSpec("source:"+r.Origin) {
		d.Sets = []string{"source:" + r.Origin}
	}
	return d, nil
}

// testConfig is DefaultConfig with tiny backoffs.
func testConfig() Config {
	c := DefaultConfig()
	c.BackoffBase, c.BackoffMax = time.Millisecond, 4*time.Millisecond
	c.RequestTimeout = 10 * time.Second
	return c
}

// newTestHarvester returns a harvester on a fresh store whose retries do
// not wait but record the waits asked for.
func newTestHarvester(t testing.TB, cfg Config) (*Harvester, *store.Store, *[]time.Duration) {
	t.Helper()
	st := openTestStore(t, t.TempDir())
	h, waits := newHarvesterOn(t, st, cfg)
	t.Cleanup(func() { st.Close() })
	return h, st, waits
}

func newHarvesterOn(t testing.TB, st *store.Store, cfg Config) (*Harvester, *[]time.Duration) {
	t.Helper()
	h, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	waits := &[]time.Duration{}
	h.wait = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	t.Cleanup(func() { h.Close() })
	return h, waits
}

func httptestServer(t testing.TB, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
