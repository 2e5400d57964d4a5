package harvest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
	"github.com/colligo/colligo/store/ingest"
)

var ctx = context.Background()

func mustHarvest(t *testing.T, h *Harvester, src Source) *Result {
	t.Helper()
	res, err := h.HarvestOnce(ctx, src, RunOptions{})
	if err != nil {
		t.Fatalf("HarvestOnce: %v (result %+v)", err, res)
	}
	return res
}

func wantCounts(t *testing.T, what string, got Counts, added, updated, unchanged, deleted, rejected int64) {
	t.Helper()
	if got.Added != added || got.Updated != updated || got.Unchanged != unchanged || got.Deleted != deleted || got.Rejected != rejected {
		t.Errorf("%s: added %d updated %d unchanged %d deleted %d rejected %d, want %d %d %d %d %d", what,
			got.Added, got.Updated, got.Unchanged, got.Deleted, got.Rejected, added, updated, unchanged, deleted, rejected)
	}
}

// queries returns the logged requests with a verb.
func queries(rp *testRepo, verb string) []url.Values {
	var out []url.Values
	for _, q := range rp.requestLog() {
		v, _ := url.ParseQuery(q)
		if v.Get("verb") == verb {
			out = append(out, v)
		}
	}
	return out
}

// The first harvest is complete; records land with origin, provenance
// and the payload byte for byte; a second harvest asks from the first
// page's responseDate and changes nothing; changes and deletions at the
// source come with the third.
func TestFullThenIncremental(t *testing.T) {
	rp := newTestRepo(t, 1050)
	h, st, _ := newTestHarvester(t, testConfig())
	src := Source{ID: "repo-a", BaseURL: rp.URL()}
	res := mustHarvest(t, h, src)
	wantCounts(t, "full harvest", res.Counts, 1050, 0, 0, 0, 0)
	if res.Mode != "full" || res.Pages != 11 || res.Records != 1050 || !res.Complete || res.CompleteListSize != 1050 {
		t.Errorf("full harvest result %+v", res)
	}
	g := gen.New(7, gen.Institutions[0])
	for _, i := range []int{0, 517, 1049} {
		id := ingest.LocalID(g.OAIIdentifier(i))
		rec, err := st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Origin != "repo-a" || rec.Metadata.Titles[0].Value != g.Record(i).Metadata.Titles[0].Value {
			t.Errorf("record %d: origin %q title %q", i, rec.Origin, rec.Metadata.Titles[0].Value)
		}
		p := rec.Provenance
		wantDS := testBase.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05Z")
		if len(p) != 1 || p[0].BaseURL != rp.URL() || p[0].Identifier != g.OAIIdentifier(i) || p[0].Datestamp != wantDS ||
			p[0].MetadataNamespace != crosswalk.NamespaceOAIDC || !p[0].Altered || p[0].HarvestDate.IsZero() {
			t.Errorf("record %d provenance %+v", i, p)
		}
		if len(rec.Originals) != 1 || rec.Originals[0].Prefix != "oai_dc" || rec.Originals[0].Schema != crosswalk.SchemaOAIDC {
			t.Errorf("record %d originals %+v", i, rec.Originals)
		}
		payload, err := st.Original(ctx, id, "oai_dc")
		if err != nil || !bytes.Equal(payload, crosswalk.OAIDC(g.Record(i), "")) {
			t.Errorf("record %d: payload not byte-exact (%v):\n%s", i, err, payload)
		}
	}
	if n, _ := st.Count(ctx, store.Query{Origin: "repo-a"}); n != 1050 {
		t.Errorf("%d records of origin repo-a", n)
	}

	// No change: one ListRecords from the first responseDate.
	before := len(queries(rp, "ListRecords"))
	res = mustHarvest(t, h, src)
	wantCounts(t, "no-change harvest", res.Counts, 0, 0, 0, 0, 0)
	lr := queries(rp, "ListRecords")[before:]
	if len(lr) != 1 || lr[0].Get("from") != rp.now.Format("2006-01-02T15:04:05Z") || res.Mode != "incremental" {
		t.Errorf("no-change harvest asked %v (mode %s)", lr, res.Mode)
	}
	if len(queries(rp, "Identify")) != 1 {
		t.Errorf("Identify asked %d times, want 1 (cached)", len(queries(rp, "Identify")))
	}

	// Three changes, two deletions.
	rp.touch(3, "A new title", false)
	rp.touch(4, "", false) // new datestamp, same content
	rp.touch(5, "", true)
	rp.touch(6, "", true)
	rp.touch(7, "Another title", false)
	res = mustHarvest(t, h, src)
	wantCounts(t, "third harvest", res.Counts, 0, 2, 1, 2, 0)
	rec, _ := st.Get(ctx, ingest.LocalID(g.OAIIdentifier(3)))
	if rec.Metadata.Titles[0].Value != "A new title" {
		t.Errorf("record 3 title %q", rec.Metadata.Titles[0].Value)
	}
	rec, _ = st.Get(ctx, ingest.LocalID(g.OAIIdentifier(5)))
	if !rec.Deleted || len(rec.Metadata.Titles) == 0 || len(rec.Provenance) != 1 {
		t.Errorf("record 5 should be a tombstone that keeps its metadata: %+v", rec)
	}
	// Deleted again: unchanged.
	rp.touch(5, "", true)
	res = mustHarvest(t, h, src)
	wantCounts(t, "fourth harvest", res.Counts, 0, 0, 1, 0, 0)
}

// At day granularity the next harvest asks from the same day, and what it
// gets again is unchanged.
func TestDayGranularityOverlap(t *testing.T) {
	rp := newTestRepo(t, 300)
	rp.day = true
	h, _, _ := newTestHarvester(t, testConfig())
	src := Source{ID: "day", BaseURL: rp.URL()}
	mustHarvest(t, h, src)
	rp.touch(10, "Changed", false)
	res := mustHarvest(t, h, src)
	var froms []string
	for _, q := range queries(rp, "ListRecords") {
		if q.Has("from") {
			froms = append(froms, q.Get("from"))
		}
	}
	if len(froms) != 1 || froms[0] != testBase.Format("2006-01-02") {
		t.Errorf("froms %q, want the day of the first harvest", froms)
	}
	// Everything of that day came again: one update, the rest unchanged.
	wantCounts(t, "overlap harvest", res.Counts, 0, 1, 299, 0, 0)
}

// A source whose Identify says seconds but which rejects a from with a
// time gets the day; the checkpoint remembers.
func TestWrongGranularity(t *testing.T) {
	rp := newTestRepo(t, 50)
	rp.rejectTimeFrom = true
	h, st, _ := newTestHarvester(t, testConfig())
	src := Source{ID: "gran", BaseURL: rp.URL()}
	mustHarvest(t, h, src)
	res := mustHarvest(t, h, src)
	lr := queries(rp, "ListRecords")
	if len(lr) != 3 || !strings.Contains(lr[1].Get("from"), "T") || lr[2].Get("from") != rp.now.Format("2006-01-02") {
		t.Fatalf("requests %v", lr)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), "day granularity") {
		t.Errorf("warnings %q", res.Warnings)
	}
	wantCounts(t, "day fallback", res.Counts, 0, 0, 50, 0, 0)
	b, _ := st.GetState(checkpointName("gran", "oai_dc"))
	cp, _ := decodeCheckpoint(b)
	if !cp.DayGranularity {
		t.Errorf("checkpoint %+v does not remember day granularity", cp)
	}
	mustHarvest(t, h, src)
	lr = queries(rp, "ListRecords")
	if len(lr) != 4 || strings.Contains(lr[3].Get("from"), "T") {
		t.Errorf("after the fallback the harvester asked %v", lr[3:])
	}
}

// A record that left the harvested set (listed with setSpecs that no
// longer include it or a descendant) becomes a tombstone; one listed in a
// descendant of the set stays.
func TestSetHarvest(t *testing.T) {
	rp := newTestRepo(t, 200)
	h, st, _ := newTestHarvester(t, testConfig())
	src := Source{ID: "set-a", BaseURL: rp.URL(), Set: "a"}
	res := mustHarvest(t, h, src)
	wantCounts(t, "set harvest", res.Counts, 190, 0, 0, 0, 0)
	if q := queries(rp, "ListRecords")[0]; q.Get("set") != "a" {
		t.Errorf("set not asked: %v", q)
	}
	g := gen.New(7, gen.Institutions[0])
	payload := string(crosswalk.OAIDC(g.Record(1), ""))
	sets := "<setSpec>a:y</setSpec><setSpec>b</setSpec>"
	rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Query().Get("verb") != "ListRecords" {
			return false
		}
		io.WriteString(w, oaiDoc(rp.now, `<ListRecords><record><header><identifier>`+g.OAIIdentifier(1)+
			`</identifier><datestamp>2024-05-01T00:00:00Z</datestamp>`+sets+`</header><metadata>`+payload+`</metadata></record></ListRecords>`))
		return true
	}
	res = mustHarvest(t, h, src)
	wantCounts(t, "still in a descendant", res.Counts, 0, 0, 1, 0, 0)
	sets = "<setSpec>b</setSpec><setSpec>ab</setSpec>"
	res = mustHarvest(t, h, src)
	wantCounts(t, "left the set", res.Counts, 0, 0, 0, 1, 0)
	if rec, err := st.Get(ctx, ingest.LocalID(g.OAIIdentifier(1))); err != nil || !rec.Deleted {
		t.Errorf("record 1 should be deleted: %+v %v", rec, err)
	}
}

// oaiDoc wraps a response body in the OAI-PMH envelope.
func oaiDoc(now time.Time, body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>` + now.Format(time.RFC3339) +
		`</responseDate><request verb="ListRecords">http://x.example/oai</request>` + body + `</OAI-PMH>`
}

// A source whose clock is ahead of ours: the next from is our time when
// the list began, not its responseDate, so nothing written in between is
// skipped.
func TestSourceClockAhead(t *testing.T) {
	rp := newTestRepo(t, 20)
	rp.now = time.Now().Add(3 * time.Hour).UTC()
	h, st, _ := newTestHarvester(t, testConfig())
	before := time.Now().UTC().Truncate(time.Second)
	mustHarvest(t, h, Source{ID: "ahead", BaseURL: rp.URL()})
	after := time.Now().UTC()
	b, _ := st.GetState(checkpointName("ahead", "oai_dc"))
	cp, _ := decodeCheckpoint(b)
	next, ok := parseDatestamp(cp.NextFrom)
	if !ok || next.Before(before) || next.After(after) {
		t.Errorf("next from %q, want our time (between %v and %v), not the source's %v", cp.NextFrom, before, after, rp.now)
	}
}
