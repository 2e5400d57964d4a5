package harvest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/colligo/colligo/oai/oaixml"
	"github.com/colligo/colligo/store/gen"
	"github.com/colligo/colligo/store/ingest"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/real/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// isList reports whether a request is a ListRecords.
func isList(r *http.Request) bool { return r.URL.Query().Get("verb") == "ListRecords" }

func isResumed(r *http.Request) bool { return r.URL.Query().Get("resumptionToken") != "" }

// nthList makes a fault that answers the k-th ListRecords request (from 1)
// with answer and lets the others through.
func nthList(ks []int, answer func(w http.ResponseWriter, r *http.Request)) func(http.ResponseWriter, *http.Request, int) bool {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if !isList(r) {
			return false
		}
		k := int(n.Add(1))
		for _, want := range ks {
			if k == want {
				answer(w, r)
				return true
			}
		}
		return false
	}
}

// 503 with Retry-After in seconds, as an HTTP-date, and too long (capped).
func TestRetryAfter(t *testing.T) {
	rp := newTestRepo(t, 250)
	html := readTestdata(t, "arxiv-http503-retry-after.html")
	var k atomic.Int32
	rp.fault = nthList([]int{2, 3, 4}, func(w http.ResponseWriter, r *http.Request) {
		switch k.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "10")
		case 2:
			w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
		case 3:
			w.Header().Set("Retry-After", "86400")
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write(html)
	})
	cfg := testConfig()
	cfg.RetryAfterMax = 5 * time.Minute
	h, _, waits := newTestHarvester(t, cfg)
	res := mustHarvest(t, h, Source{ID: "a", BaseURL: rp.URL()})
	wantCounts(t, "after 503s", res.Counts, 250, 0, 0, 0, 0)
	w := *waits
	if len(w) != 3 || w[0] != 10*time.Second || w[1] < 80*time.Second || w[1] > 90*time.Second || w[2] != 5*time.Minute {
		t.Errorf("waits %v, want 10s, about 90s, 5m (capped)", w)
	}
	if res.Retries != 3 || !strings.Contains(strings.Join(res.Warnings, "\n"), "HTTP 503") {
		t.Errorf("retries %d warnings %q", res.Retries, res.Warnings)
	}
}

// 5xx are retried with growing, jittered waits; when retries run out the
// error names the URL and the status keeps it.
func TestBackoff5xx(t *testing.T) {
	rp := newTestRepo(t, 150)
	rp.fault = nthList([]int{2, 3, 4}, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html><body>Internal Server Error</body></html>", http.StatusBadGateway)
	})
	cfg := testConfig()
	cfg.BackoffBase, cfg.BackoffMax = 8*time.Millisecond, 20*time.Millisecond
	h, _, waits := newTestHarvester(t, cfg)
	res := mustHarvest(t, h, Source{ID: "a", BaseURL: rp.URL()})
	wantCounts(t, "after 502s", res.Counts, 150, 0, 0, 0, 0)
	w := *waits
	bounds := [][2]time.Duration{{4, 8}, {8, 16}, {10, 20}}
	if len(w) != 3 {
		t.Fatalf("waits %v", w)
	}
	for i, b := range bounds {
		if w[i] < b[0]*time.Millisecond || w[i] > b[1]*time.Millisecond {
			t.Errorf("wait %d = %v, want in [%dms, %dms]", i, w[i], b[0], b[1])
		}
	}

	// Retries run out.
	rp2 := newTestRepo(t, 10)
	rp2.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !isList(r) {
			return false
		}
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return true
	}
	cfg.Retries = 2
	h2, _, _ := newTestHarvester(t, cfg)
	h2.cfg.Sources = nil
	if _, err := h2.AddSource(ctx, Source{ID: "down", BaseURL: rp2.URL()}); err != nil {
		t.Fatal(err)
	}
	_, err := h2.HarvestOnce(ctx, Source{ID: "down", BaseURL: rp2.URL()}, RunOptions{})
	var he *Error
	var hs *HTTPError
	if !errors.As(err, &he) || !he.Transient || !errors.As(err, &hs) || hs.Status != 500 || !strings.Contains(he.URL, "verb=ListRecords") {
		t.Fatalf("error %v, want an *Error with the URL and HTTP 500", err)
	}
	if !strings.Contains(err.Error(), "gave up after 2 retries") || !strings.Contains(err.Error(), "down for maintenance") {
		t.Errorf("error %q", err)
	}
	st, _ := h2.Source("down")
	if st.Status.LastErrorURL != he.URL || st.Status.LastError == "" || !st.Status.LastSuccess.IsZero() {
		t.Errorf("status %+v", st.Status)
	}
}

// A request that gets no answer within request_timeout is retried.
func TestTimeout(t *testing.T) {
	rp := newTestRepo(t, 150)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	rp.fault = nthList([]int{2}, func(w http.ResponseWriter, r *http.Request) {
		// Hang until the harvester gives up on the request.
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	cfg := testConfig()
	cfg.RequestTimeout = 300 * time.Millisecond
	h, _, _ := newTestHarvester(t, cfg)
	res := mustHarvest(t, h, Source{ID: "a", BaseURL: rp.URL()})
	wantCounts(t, "after a timeout", res.Counts, 150, 0, 0, 0, 0)
	if res.Retries != 1 || !strings.Contains(strings.Join(res.Warnings, "\n"), "request_timeout") {
		t.Errorf("retries %d warnings %q", res.Retries, res.Warnings)
	}
}

// A body cut off in the middle is retried, and no record of it is stored
// twice.
func TestTruncatedBody(t *testing.T) {
	rp := newTestRepo(t, 150)
	rp.fault = nthList([]int{1}, func(w http.ResponseWriter, r *http.Request) {
		b := rp.render(r.URL.RawQuery)
		w.Write(b[:len(b)/2])
	})
	h, _, _ := newTestHarvester(t, testConfig())
	res := mustHarvest(t, h, Source{ID: "a", BaseURL: rp.URL()})
	wantCounts(t, "after a truncated page", res.Counts, 150, 0, 0, 0, 0)
	if res.Records != 150 || res.Retries != 1 {
		t.Errorf("records %d retries %d", res.Records, res.Retries)
	}
}

// gzip bodies without Content-Encoding are decompressed.
func TestGzipUndeclared(t *testing.T) {
	rp := newTestRepo(t, 150)
	rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		gz.Write(rp.render(r.URL.RawQuery))
		gz.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b.Bytes())
		return true
	}
	h, _, _ := newTestHarvester(t, testConfig())
	res := mustHarvest(t, h, Source{ID: "a", BaseURL: rp.URL()})
	wantCounts(t, "gzip", res.Counts, 150, 0, 0, 0, 0)
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "gzip") {
		t.Errorf("warnings %q", res.Warnings)
	}
}

// Declared gzip (Content-Encoding) is decompressed without a warning.
func TestGzipDeclared(t *testing.T) {
	rp := newTestRepo(t, 150)
	rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			t.Errorf("no Accept-Encoding: gzip")
		}
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		gz.Write(rp.render(r.URL.RawQuery))
		gz.Close()
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(b.Bytes())
		return true
	}
	cfg := testConfig()
	cfg.Compression = "gzip" // the test source is on loopback
	h, _, _ := newTestHarvester(t, cfg)
	res := mustHarvest(t, h, Source{ID: "a", BaseURL: rp.URL()})
	wantCounts(t, "gzip", res.Counts, 150, 0, 0, 0, 0)
	if strings.Contains(strings.Join(res.Warnings, "\n"), "gzip") {
		t.Errorf("declared gzip warned about: %q", res.Warnings)
	}
}

// The harvester asks for gzip as configured; "auto" asks every source but
// one on this machine.
func TestCompressionAsked(t *testing.T) {
	for _, tc := range []struct {
		setting, url string
		want         bool
	}{
		{"auto", "https://repository.example.org/oai", true},
		{"auto", "http://192.0.2.7:8080/oai", true},
		{"auto", "http://[2001:db8::1]/oai", true},
		{"auto", "http://127.0.0.1:8080/oai", false},
		{"auto", "http://127.3.0.1/oai", false},
		{"auto", "http://[::1]:8080/oai", false},
		{"auto", "http://LOCALHOST:8080/oai", false},
		{"auto", "http://node1.localhost/oai", false},
		{"gzip", "http://127.0.0.1:8080/oai", true},
		{"none", "https://repository.example.org/oai", false},
	} {
		cfg := DefaultConfig()
		cfg.Compression = tc.setting
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := (&Harvester{cfg: cfg}).wantGzip(u); got != tc.want {
			t.Errorf("compression %q, %s: asks for gzip %v, want %v", tc.setting, tc.url, got, tc.want)
		}
	}
	// And on the wire: a loopback source is asked for identity.
	rp := newTestRepo(t, 10)
	rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if got := r.Header.Get("Accept-Encoding"); got != "identity" {
			t.Errorf("Accept-Encoding %q from a loopback source, want identity", got)
		}
		return false
	}
	h, _, _ := newTestHarvester(t, testConfig())
	mustHarvest(t, h, Source{ID: "a", BaseURL: rp.URL()})
	bad := DefaultConfig()
	bad.Compression = "brotli"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "compression") {
		t.Errorf("compression brotli: %v", err)
	}
}

// Pages without records that still carry a token are followed, up to
// max_empty_pages in a row.
func TestEmptyPagesWithToken(t *testing.T) {
	emptyFault := func(rp *testRepo, n int) func(http.ResponseWriter, *http.Request, int) bool {
		return func(w http.ResponseWriter, r *http.Request, _ int) bool {
			if !isList(r) {
				return false
			}
			tok := r.URL.Query().Get("resumptionToken")
			k := 0
			if strings.HasPrefix(tok, "empty-") {
				k = int(tok[len("empty-")] - '0')
			} else if tok != "" {
				return false
			}
			if k == n {
				w.Write(rp.render("verb=ListRecords&metadataPrefix=oai_dc"))
				return true
			}
			w.Write([]byte(oaiDoc(rp.now, `<ListRecords><resumptionToken>empty-`+string(rune('1'+k))+`</resumptionToken></ListRecords>`)))
			return true
		}
	}
	rp := newTestRepo(t, 150)
	rp.fault = emptyFault(rp, 3)
	h, _, _ := newTestHarvester(t, testConfig())
	res := mustHarvest(t, h, Source{ID: "a", BaseURL: rp.URL()})
	wantCounts(t, "after empty pages", res.Counts, 150, 0, 0, 0, 0)
	if res.Pages != 5 || !strings.Contains(strings.Join(res.Warnings, "\n"), "without records") {
		t.Errorf("pages %d warnings %q", res.Pages, res.Warnings)
	}

	rp2 := newTestRepo(t, 150)
	rp2.fault = emptyFault(rp2, 6)
	cfg := testConfig()
	cfg.MaxEmptyPages = 3
	h2, _, _ := newTestHarvester(t, cfg)
	_, err := h2.HarvestOnce(ctx, Source{ID: "a", BaseURL: rp2.URL()}, RunOptions{})
	if !errors.Is(err, ErrEmptyPages) {
		t.Fatalf("error %v, want ErrEmptyPages", err)
	}
}

var tokenRE = regexp.MustCompile(`(<resumptionToken[^>]*>)([^<]*)(</resumptionToken>)`)

// A token the source sends a second time ends the harvest with an error
// naming it; the next harvest starts the list again instead of looping.
func TestTokenLoop(t *testing.T) {
	rp := newTestRepo(t, 500)
	rp.fault = nthList([]int{3}, func(w http.ResponseWriter, r *http.Request) {
		b := rp.render(r.URL.RawQuery)
		tok := string(crosswalkEscape(r.URL.Query().Get("resumptionToken")))
		w.Write(tokenRE.ReplaceAll(b, []byte("${1}"+tok+"${3}")))
	})
	h, st, _ := newTestHarvester(t, testConfig())
	src := Source{ID: "loop", BaseURL: rp.URL()}
	res, err := h.HarvestOnce(ctx, src, RunOptions{})
	if !errors.Is(err, ErrTokenLoop) || !strings.Contains(err.Error(), "o=200") {
		t.Fatalf("error %v, want ErrTokenLoop naming the token", err)
	}
	if res.Added != 300 {
		t.Errorf("added %d before the loop, want 300", res.Added)
	}
	b, _ := st.GetState(checkpointName("loop", "oai_dc"))
	cp, _ := decodeCheckpoint(b)
	if cp.Token != "" || cp.NextFrom != "" {
		t.Errorf("checkpoint after a loop %+v, want no token and a full harvest next", cp)
	}
	rp.fault = nil
	res = mustHarvest(t, h, src)
	if res.Mode != "full" {
		t.Errorf("mode %s after a loop", res.Mode)
	}
	wantCounts(t, "after a loop", res.Counts, 200, 0, 300, 0, 0)
}

func crosswalkEscape(s string) []byte { return []byte(escape(s)) }

// Wrong or expired tokens: badResumptionToken (Zenodo answers it with
// HTTP 422) restarts the list from its from; a source that always rejects
// fails after three restarts.
func TestBadResumptionToken(t *testing.T) {
	body := readTestdata(t, "zenodo-error-badresumptiontoken.xml")
	rp := newTestRepo(t, 250)
	rp.fault = nthList([]int{2}, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(422)
		w.Write(body)
	})
	h, _, _ := newTestHarvester(t, testConfig())
	src := Source{ID: "z", BaseURL: rp.URL()}
	res := mustHarvest(t, h, src)
	wantCounts(t, "after a restart", res.Counts, 250, 0, 100, 0, 0)
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "rejected resumptionToken") || !strings.Contains(strings.Join(res.Warnings, "\n"), "422") {
		t.Errorf("warnings %q", res.Warnings)
	}
	lists := queries(rp, "ListRecords")
	if len(lists) != 5 || lists[2].Has("resumptionToken") {
		t.Errorf("requests %v: want first page, bad token, first page again, two more", lists)
	}

	rp2 := newTestRepo(t, 250)
	rp2.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if isList(r) && isResumed(r) {
			w.Write(body)
			return true
		}
		return false
	}
	h2, _, _ := newTestHarvester(t, testConfig())
	_, err := h2.HarvestOnce(ctx, Source{ID: "z", BaseURL: rp2.URL()}, RunOptions{})
	var oe *oaixml.Error
	if !errors.As(err, &oe) || oe.Code != "badResumptionToken" {
		t.Fatalf("error %v, want badResumptionToken", err)
	}
	if n := len(queries(rp2, "ListRecords")); n != 8 {
		t.Errorf("%d list requests, want 8 (first pages and tokens, three restarts)", n)
	}
}

// noRecordsMatch is an empty list, on the first page (Zenodo with 422,
// arXiv, DSpace) and after a token (Humanities CORE).
func TestNoRecordsMatch(t *testing.T) {
	for _, file := range []string{"zenodo-error-norecordsmatch-empty.xml", "arxiv-error-norecordsmatch.xml", "dspace-mit-error-norecordsmatch.xml"} {
		t.Run(file, func(t *testing.T) {
			body := readTestdata(t, file)
			rp := newTestRepo(t, 10)
			rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if !isList(r) {
					return false
				}
				if strings.HasPrefix(file, "zenodo") {
					w.WriteHeader(422)
				}
				w.Write(body)
				return true
			}
			h, st, _ := newTestHarvester(t, testConfig())
			res := mustHarvest(t, h, Source{ID: "n", BaseURL: rp.URL()})
			wantCounts(t, file, res.Counts, 0, 0, 0, 0, 0)
			b, _ := st.GetState(checkpointName("n", "oai_dc"))
			if cp, _ := decodeCheckpoint(b); cp.NextFrom == "" || cp.Completed.IsZero() {
				t.Errorf("checkpoint %+v: an empty list completes", cp)
			}
		})
	}
	t.Run("after a token", func(t *testing.T) {
		body := readTestdata(t, "humcore-mla-error-norecordsmatch-on-resume.xml")
		rp := newTestRepo(t, 250)
		rp.fault = nthList([]int{3}, func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
		h, _, _ := newTestHarvester(t, testConfig())
		res := mustHarvest(t, h, Source{ID: "n", BaseURL: rp.URL()})
		wantCounts(t, "humcore", res.Counts, 200, 0, 0, 0, 0)
	})
}

// A repository without sets answers a harvest of a set with
// noSetHierarchy (an empty federation peer does): an empty list, with a
// warning; without a set asked for, the same answer is an error.
func TestNoSetHierarchy(t *testing.T) {
	rp := newTestRepo(t, 10)
	rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !isList(r) {
			return false
		}
		w.Write([]byte(oaiDoc(rp.now, `<error code="noSetHierarchy">This repository does not support sets</error>`)))
		return true
	}
	h, st, _ := newTestHarvester(t, testConfig())
	res := mustHarvest(t, h, Source{ID: "s", BaseURL: rp.URL(), Set: "source:s"})
	wantCounts(t, "set", res.Counts, 0, 0, 0, 0, 0)
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "noSetHierarchy") {
		t.Errorf("warnings %q, want one naming noSetHierarchy", res.Warnings)
	}
	b, _ := st.GetState(checkpointName("s", "oai_dc"))
	if cp, _ := decodeCheckpoint(b); cp.Completed.IsZero() {
		t.Errorf("checkpoint %+v: the empty list completes", cp)
	}
	_, err := h.HarvestOnce(ctx, Source{ID: "all", BaseURL: rp.URL()}, RunOptions{})
	var oe *oaixml.Error
	if !errors.As(err, &oe) || oe.Code != "noSetHierarchy" {
		t.Errorf("harvest without a set: %v, want the noSetHierarchy error", err)
	}
}

// The last page without any resumptionToken element (Alma) ends the list,
// and a cursor counted in pages (DSpace) does not confuse the counts.
func TestTokenQuirks(t *testing.T) {
	rp := newTestRepo(t, 250)
	lastTok := regexp.MustCompile(`<resumptionToken[^>]*/>`)
	pageCursor := regexp.MustCompile(`cursor="(\d+)"`)
	rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !isList(r) {
			return false
		}
		b := lastTok.ReplaceAll(rp.render(r.URL.RawQuery), nil)
		b = pageCursor.ReplaceAllFunc(b, func(m []byte) []byte {
			return []byte(`cursor="` + string(rune('0'+len(b)%3)) + `"`)
		})
		w.Write(b)
		return true
	}
	h, _, _ := newTestHarvester(t, testConfig())
	res := mustHarvest(t, h, Source{ID: "q", BaseURL: rp.URL()})
	wantCounts(t, "quirks", res.Counts, 250, 0, 0, 0, 0)
	if res.Records != 250 || res.Pages != 3 {
		t.Errorf("records %d pages %d", res.Records, res.Pages)
	}
}

// A record over max_record_bytes is skipped and reported; the others are
// stored.
func TestHugeRecord(t *testing.T) {
	rp := newTestRepo(t, 150)
	rp.mu.Lock()
	big := rp.recs[42]
	big.payloads["oai_dc"] = bytes.Replace(big.payloads["oai_dc"], []byte("</dc:title>"),
		[]byte(strings.Repeat("x", 9000)+"</dc:title>"), 1)
	rp.mu.Unlock()
	cfg := testConfig()
	cfg.MaxRecordBytes = 8192
	h, st, _ := newTestHarvester(t, cfg)
	res := mustHarvest(t, h, Source{ID: "big", BaseURL: rp.URL()})
	wantCounts(t, "huge record", res.Counts, 149, 0, 0, 0, 1)
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error, "exceeds max_record_bytes (8192)") || res.Errors[0].URL == "" {
		t.Errorf("errors %+v", res.Errors)
	}
	if _, err := st.Head(ctx, ingest.LocalID(big.ident)); err == nil {
		t.Error("the huge record was stored")
	}
}

// A page larger than max_page_bytes fails the request.
func TestHugePage(t *testing.T) {
	rp := newTestRepo(t, 150)
	cfg := testConfig()
	cfg.MaxRecordBytes, cfg.MaxPageBytes = 8192, 50_000
	h, _, _ := newTestHarvester(t, cfg)
	_, err := h.HarvestOnce(ctx, Source{ID: "big", BaseURL: rp.URL()}, RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "max_page_bytes") {
		t.Fatalf("error %v", err)
	}
}

// A deleted header with metadata is a tombstone; the metadata sent with
// it is ignored.
func TestDeletedWithMetadata(t *testing.T) {
	rp := newTestRepo(t, 20)
	h, st, _ := newTestHarvester(t, testConfig())
	src := Source{ID: "d", BaseURL: rp.URL()}
	mustHarvest(t, h, src)
	rp.touch(3, "Title sent with the deletion", true)
	rp.mu.Lock()
	rp.recs[len(rp.recs)-1].withMetadataWhenDeleted = true
	rp.mu.Unlock()
	res := mustHarvest(t, h, src)
	wantCounts(t, "deleted with metadata", res.Counts, 0, 0, 0, 1, 0)
	rec, err := st.Get(ctx, ingest.LocalID(gen.New(7, gen.Institutions[0]).OAIIdentifier(3)))
	if err != nil || !rec.Deleted || rec.Metadata.Titles[0].Value == "Title sent with the deletion" {
		t.Errorf("record %+v %v", rec, err)
	}
}

// An HTML page answered with 200 is not an empty list.
func TestNotOAIPMH(t *testing.T) {
	rp := newTestRepo(t, 10)
	rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !isList(r) {
			return false
		}
		w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body><p>Back soon</p></body></html>"))
		return true
	}
	cfg := testConfig()
	cfg.Retries = 1
	h, st, _ := newTestHarvester(t, cfg)
	_, err := h.HarvestOnce(ctx, Source{ID: "html", BaseURL: rp.URL()}, RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "not an OAI-PMH response") {
		t.Fatalf("error %v", err)
	}
	if b, _ := st.GetState(checkpointName("html", "oai_dc")); b != nil {
		t.Errorf("a checkpoint was written: %s", b)
	}
}

// A source with a broken Identify is harvested at day granularity.
func TestBrokenIdentify(t *testing.T) {
	rp := newTestRepo(t, 30)
	rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Query().Get("verb") == "Identify" {
			http.NotFound(w, r)
			return true
		}
		return false
	}
	h, _, _ := newTestHarvester(t, testConfig())
	src := Source{ID: "i", BaseURL: rp.URL()}
	res := mustHarvest(t, h, src)
	wantCounts(t, "broken Identify", res.Counts, 30, 0, 0, 0, 0)
	mustHarvest(t, h, src)
	lists := queries(rp, "ListRecords")
	if from := lists[len(lists)-1].Get("from"); from != rp.now.Format("2006-01-02") {
		t.Errorf("from %q, want the day", from)
	}
}

// Entities are never resolved: a DOCTYPE with an internal subset is
// refused, an external DTD is never fetched, an undeclared entity fails
// the record it is in.
func TestNoEntities(t *testing.T) {
	var fetched atomic.Int32
	evil := httptestServer(t, func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) })
	rp := newTestRepo(t, 0)
	page := func(doctype, title string) []byte {
		return []byte(`<?xml version="1.0"?>` + doctype + `<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z</responseDate><ListRecords>` +
			`<record><header><identifier>oai:x:1</identifier><datestamp>2024-01-01</datestamp></header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>` + title + `</dc:title></oai_dc:dc></metadata></record>` +
			`<record><header><identifier>oai:x:2</identifier><datestamp>2024-01-01</datestamp></header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Plain</dc:title></oai_dc:dc></metadata></record>` +
			`</ListRecords></OAI-PMH>`)
	}
	var body []byte
	rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !isList(r) {
			return false
		}
		w.Write(body)
		return true
	}
	cfg := testConfig()
	cfg.Retries = 0
	h, st, _ := newTestHarvester(t, cfg)

	body = page(`<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "`+evil.URL+`/secret">]>`, "&xxe;")
	_, err := h.HarvestOnce(ctx, Source{ID: "e1", BaseURL: rp.URL()}, RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "DOCTYPE") {
		t.Errorf("internal subset: %v", err)
	}
	body = page(`<!DOCTYPE OAI-PMH SYSTEM "`+evil.URL+`/oai.dtd">`, "&xxe;")
	res, err := h.HarvestOnce(ctx, Source{ID: "e2", BaseURL: rp.URL()}, RunOptions{})
	if err != nil || res.Added != 1 || res.Rejected != 1 {
		t.Errorf("external DTD: %v %+v", err, res)
	}
	if fetched.Load() != 0 {
		t.Errorf("the harvester fetched %d URLs named in the document", fetched.Load())
	}
	if _, err := st.Head(ctx, ingest.LocalID("oai:x:1")); err == nil {
		t.Error("the record with the entity was stored")
	}
}
