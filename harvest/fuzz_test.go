package harvest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/oai/oaixml"
	"github.com/colligo/colligo/store"
)

// FuzzPage feeds responses to what reads them: the page reader, the record
// parser with the Dublin Core sink, the provenance reader and the
// datestamp parser. Seeds are the real responses in testdata/real.
func FuzzPage(f *testing.F) {
	files, _ := filepath.Glob("testdata/real/*.xml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<OAI-PMH><responseDate>2024-01-01</responseDate><ListRecords><record><header><identifier>x</identifier></header><metadata><dc/></metadata><about><provenance><originDescription><originDescription/></originDescription></provenance></about></record></ListRecords></OAI-PMH>`))
	cfg := DefaultConfig()
	cfg.MaxRecordBytes, cfg.MaxPageBytes = 64<<10, 1<<20
	h := &Harvester{cfg: cfg}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := h.readPage(bytes.NewReader(b), "http://x.example/oai", false)
		if err != nil {
			return
		}
		if p.responseDate == "" && p.oaiErr == nil && p.identify == nil && len(p.records) == 0 && p.token == nil && len(p.formats) == 0 {
			t.Fatal("an empty answer passed for a page")
		}
		for _, c := range p.records {
			var m store.Metadata
			rec, err := oaixml.ParseRecord(c, crosswalk.DCSink(&m))
			if err != nil {
				continue
			}
			if len(aboutProvenance(rec.About)) > 20*len(rec.About) {
				t.Fatal("provenance chain not bounded")
			}
			if ts, ok := parseDatestamp(rec.Header.Datestamp); ok && ts.Location() != time.UTC {
				t.Fatal("datestamp not in UTC")
			}
		}
	})
}

// FuzzDatestamp: what parses formats as a from that parses to the same
// second (or day).
func FuzzDatestamp(f *testing.F) {
	for _, s := range []string{"2024-01-02", "2024-01-02T03:04:05Z", "2015-01-12T13:39:50", "2024-01-02T03:04:05.123+02:00", "", "2024-13-01", "9999-12-31T23:59:59Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, ok := parseDatestamp(s)
		if !ok {
			return
		}
		for _, day := range []bool{false, true} {
			from := formatFrom(s, day)
			back, ok := parseDatestamp(from)
			if !ok {
				t.Fatalf("formatFrom(%q, %v) = %q does not parse", s, day, from)
			}
			want := ts.Truncate(time.Second)
			if day {
				want = time.Date(ts.Year(), ts.Month(), ts.Day(), 0, 0, 0, 0, time.UTC)
			}
			if !back.Equal(want) && ts.Year() >= 0 && ts.Year() <= 9999 {
				t.Fatalf("formatFrom(%q, %v) = %q reads as %v, want %v", s, day, from, back, want)
			}
		}
	})
}

// FuzzRetryAfter: any header gives a wait between 0 and the cap.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"10", "0", "-5", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", ""} {
		f.Add(s)
	}
	cfg := DefaultConfig()
	h := &Harvester{cfg: cfg, clock: time.Now}
	f.Fuzz(func(t *testing.T, s string) {
		d, asked := h.retryAfter(s)
		if d < 0 || d > cfg.RetryAfterMax || (!asked && d != 0) || (strings.TrimSpace(s) == "" && asked) {
			t.Fatalf("retryAfter(%q) = %v, %v", s, d, asked)
		}
	})
}
