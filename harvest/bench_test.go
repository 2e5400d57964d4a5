package harvest

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/colligo/colligo/internal/procstat"
	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/oai/oaixml"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
	"github.com/colligo/colligo/store/ingest"
)

// benchN is the number of generated records benchmarks use: 100,000 by
// default, COLLIGO_BENCH_N to change it (`make bench` uses 1,000,000).
func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("COLLIGO_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// benchRepo serves n generated oai_dc records in pages of 500, as cheaply
// as a provider serving pre-rendered records can: a pool of rendered
// payloads is reused under distinct identifiers, so the server's share of
// the CPU is small and the harvester's cost is what is measured.
type benchRepo struct {
	n, pageSize int
	payloads    [][]byte
	base, now   time.Time
	srv         *httptest.Server
}

func newBenchRepo(b *testing.B, n int) *benchRepo {
	br := &benchRepo{n: n, pageSize: 500, base: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	br.now = br.base.Add(time.Duration(n+1) * time.Second)
	g := gen.New(42, gen.Institutions[0])
	for i := 0; i < min(n, 5000); i++ {
		br.payloads = append(br.payloads, crosswalk.OAIDC(g.Record(i), ""))
	}
	br.srv = httptest.NewServer(http.HandlerFunc(br.serve))
	b.Cleanup(br.srv.Close)
	return br
}

func (br *benchRepo) URL() string { return br.srv.URL + "/oai" }

const benchHead = `<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">
<responseDate>`

func (br *benchRepo) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	bw := bufio.NewWriterSize(w, 256<<10)
	defer bw.Flush()
	bw.WriteString(benchHead)
	bw.WriteString(br.now.Format("2006-01-02T15:04:05Z"))
	bw.WriteString("</responseDate><request>" + br.URL() + "</request>\n")
	switch q.Get("verb") {
	case "Identify":
		fmt.Fprintf(bw, `<Identify><repositoryName>Bench</repositoryName><baseURL>%s</baseURL><protocolVersion>2.0</protocolVersion><adminEmail>a@bench.example</adminEmail><earliestDatestamp>2024-01-01T00:00:00Z</earliestDatestamp><deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify></OAI-PMH>`, br.URL())
		return
	case "ListMetadataFormats":
		bw.WriteString(`<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix><schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema><metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace></metadataFormat></ListMetadataFormats></OAI-PMH>`)
		return
	}
	off := 0
	if tok := q.Get("resumptionToken"); tok != "" {
		off, _ = strconv.Atoi(tok)
	} else if from, ok := parseDatestamp(q.Get("from")); ok && !from.Before(br.now) {
		bw.WriteString(`<error code="noRecordsMatch"/></OAI-PMH>`)
		return
	}
	end := min(off+br.pageSize, br.n)
	bw.WriteString("<ListRecords>\n")
	var buf []byte
	for i := off; i < end; i++ {
		buf = append(buf[:0], "<record><header><identifier>oai:bench.example:"...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, "</identifier><datestamp>"...)
		buf = br.base.Add(time.Duration(i)*time.Second).AppendFormat(buf, "2006-01-02T15:04:05Z")
		buf = append(buf, "</datestamp><setSpec>collection:main</setSpec></header><metadata>"...)
		bw.Write(buf)
		bw.Write(br.payloads[i%len(br.payloads)])
		bw.WriteString("</metadata></record>\n")
	}
	if end < br.n {
		fmt.Fprintf(bw, `<resumptionToken completeListSize="%d" cursor="%d">%d</resumptionToken>`, br.n, off, end)
	} else {
		fmt.Fprintf(bw, `<resumptionToken completeListSize="%d" cursor="%d"/>`, br.n, off)
	}
	bw.WriteString("</ListRecords></OAI-PMH>\n")
}

// BenchmarkHarvest harvests generated oai_dc records from a loopback
// server into an empty store and reports records/s.
func BenchmarkHarvest(b *testing.B) {
	n := benchN()
	br := newBenchRepo(b, n)
	var total int64
	var cpu time.Duration
	var disk uint64
	for b.Loop() {
		b.StopTimer()
		st := openTestStore(b, b.TempDir())
		h, err := New(st, DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu0 := procstat.Self()
		res, err := h.HarvestOnce(ctx, Source{ID: "bench", BaseURL: br.URL()}, RunOptions{})
		cpu += procstat.Self() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		if res.Added != int64(n) {
			b.Fatalf("added %d of %d", res.Added, n)
		}
		total += res.Added
		b.StopTimer()
		disk = st.Stats().DiskBytes
		h.Close()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	// CPU time of the whole process (server included) per record: unlike
	// records/s it does not depend on what else runs on the machine;
	// 2e6/cpu-us/record is the rate two idle cores could reach.
	b.ReportMetric(float64(cpu.Microseconds())/float64(total), "cpu-us/record")
	b.ReportMetric(float64(disk)/float64(n), "disk-B/record")
}

// BenchmarkIncrementalNoChange re-harvests a source that has no changes:
// Identify is cached; one ListRecords answered noRecordsMatch; the
// checkpoint and status are stored.
func BenchmarkIncrementalNoChange(b *testing.B) {
	br := newBenchRepo(b, 2000)
	st := openTestStore(b, b.TempDir())
	defer st.Close()
	h, err := New(st, DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	src := Source{ID: "bench", BaseURL: br.URL()}
	if _, err := h.HarvestOnce(ctx, src, RunOptions{}); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		res, err := h.HarvestOnce(ctx, src, RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Records != 0 || res.Mode != "incremental" {
			b.Fatalf("result %+v", res)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
}

// BenchmarkStages times the stages of the harvest pipeline per record, on
// generated oai_dc: splitting a page, parsing a record with the Dublin
// Core sink, preparing it for the store (normalise, derive the oai_dc
// rendition, encode, hash), and committing prepared pages. It shows where
// BenchmarkHarvest's time goes.
func BenchmarkStages(b *testing.B) {
	br := newBenchRepo(b, 500)
	page := br.render("verb=ListRecords&metadataPrefix=oai_dc")
	h := &Harvester{cfg: DefaultConfig()}
	p, err := h.readPage(bytes.NewReader(page), "u", false)
	if err != nil || len(p.records) != 500 {
		b.Fatal(err)
	}
	perRecord := func(b *testing.B, records int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records)/1e3, "us/record")
	}
	b.Run("split", func(b *testing.B) {
		for b.Loop() {
			if _, err := h.readPage(bytes.NewReader(page), "u", false); err != nil {
				b.Fatal(err)
			}
		}
		perRecord(b, b.N*500)
	})
	recs := make([]*store.Record, 500)
	b.Run("parse", func(b *testing.B) {
		n := 0
		for b.Loop() {
			for i, c := range p.records {
				var m store.Metadata
				rec, err := oaixml.ParseRecord(c, crosswalk.DCSink(&m))
				if err != nil {
					b.Fatal(err)
				}
				recs[i] = &store.Record{ID: ingest.LocalID(rec.Header.Identifier), Origin: "bench", Metadata: m,
					Provenance: []store.Provenance{{BaseURL: br.URL(), Identifier: rec.Header.Identifier, Datestamp: rec.Header.Datestamp, Altered: true}},
					Originals:  []store.Original{{Prefix: "oai_dc", XML: rec.Metadata}}}
				n++
			}
		}
		perRecord(b, n)
	})
	st := openTestStore(b, b.TempDir())
	defer st.Close()
	var prepared []*store.Prepared
	b.Run("prepare", func(b *testing.B) {
		n := 0
		for b.Loop() {
			prepared = prepared[:0]
			for _, r := range recs {
				pr, err := st.Prepare(r)
				if err != nil {
					b.Fatal(err)
				}
				prepared = append(prepared, pr)
				n++
			}
		}
		perRecord(b, n)
	})
	b.Run("commit", func(b *testing.B) {
		n := 0
		for b.Loop() {
			// Fresh ids each round, so every commit adds.
			b.StopTimer()
			batch := make([]*store.Prepared, len(recs))
			for i, r := range recs {
				c := *r
				c.ID = fmt.Sprintf("%s-%d", r.ID, n+i)
				pr, err := st.Prepare(&c)
				if err != nil {
					b.Fatal(err)
				}
				batch[i] = pr
			}
			b.StartTimer()
			if _, err := st.Commit(ctx, batch, store.CommitOptions{}); err != nil {
				b.Fatal(err)
			}
			n += len(batch)
		}
		perRecord(b, n)
	})
}

// render returns the answer to a query.
func (br *benchRepo) render(query string) []byte {
	rec := httptest.NewRecorder()
	br.serve(rec, httptest.NewRequest("GET", "/oai?"+query, nil))
	return rec.Body.Bytes()
}
