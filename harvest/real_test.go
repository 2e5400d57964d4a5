package harvest

import (
	"bytes"
	"net/http"
	"regexp"
	"testing"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/ingest"
)

// serveFile makes a fault that answers a source's first ListRecords with a
// real response and its resumptionToken with noRecordsMatch.
func serveFile(rp *testRepo, body []byte) func(http.ResponseWriter, *http.Request, int) bool {
	return func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !isList(r) {
			return false
		}
		if isResumed(r) {
			w.Write([]byte(oaiDoc(rp.now, `<error code="noRecordsMatch"/>`)))
			return true
		}
		w.Write(body)
		return true
	}
}

var (
	recordRE   = regexp.MustCompile(`(?s)<record(?:\s[^>]*)?>(.*?)</record>`)
	identRE    = regexp.MustCompile(`<identifier>\s*([^<]*?)\s*</identifier>`)
	metadataRE = regexp.MustCompile(`(?s)<metadata>(.*)</metadata>`)
)

// Real responses of real repositories harvest; the first record's payload
// is stored byte for byte; harvesting again changes nothing.
func TestRealResponses(t *testing.T) {
	tests := []struct {
		file                                      string
		added, deleted, rejected, sanitized, recs int64
	}{
		{"bnf-gallica-listrecords-oai_dc-rootns.xml", 1, 0, 0, 0, 1},
		{"columbia-academiccommons-listrecords-request-noattrs-nonoai-ids.xml", 6, 0, 0, 0, 6},
		{"cyberleninka-listrecords-oai_dc-russian.xml", 54, 0, 0, 0, 54},
		{"datacite-oai-listrecords-oai_dc-token.xml", 50, 0, 0, 0, 50},
		{"dataverse-dvn-listrecords-mostly-deleted-token.xml", 1, 9, 0, 0, 10},
		{"digitalcommons-calpoly-listrecords-last-emptytoken.xml", 8, 0, 0, 0, 8},
		// 28 Dryad records say only "Item is not available": no title.
		{"dspace-dryad-listrecords-token-expiration-only.xml", 72, 0, 28, 0, 100},
		{"dspace-hacettepe-listrecords-turkish-last-emptytoken-noattrs.xml", 3, 0, 0, 0, 3},
		{"dspace-mit-listrecords-oai_dc-set-nopaging.xml", 58, 0, 0, 0, 58},
		{"dspace1-udel-oaicat-listrecords-base64-token.xml", 100, 0, 0, 0, 100},
		{"eprints-cogprints-listrecords-oai_dc.xml", 45, 0, 0, 0, 45},
		{"erudit-listrecords-oai_dc-french.xml", 46, 0, 0, 0, 46},
		{"noaa-nodc-listrecords-datestamp-no-Z.xml", 5, 0, 0, 0, 5},
		{"pmc-listrecords-oai_dc-bare-token.xml", 50, 0, 0, 0, 50},
		{"puc-rio-maxwell-listrecords-NOT-WELLFORMED-vt-char-oaidc-prefix.xml", 5, 0, 0, 1, 5},
		{"rcaap-listrecords-portuguese-last-page.xml", 3, 0, 0, 0, 3},
		{"zenodo-listrecords-oai_dc-set-software-token.xml", 50, 0, 0, 0, 50},
		// marcxml answered to an oai_dc request: nothing to map.
		{"cds-invenio-listrecords-marcxml.xml", 0, 0, 2, 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := readTestdata(t, tc.file)
			rp := newTestRepo(t, 0)
			rp.fault = serveFile(rp, body)
			h, st, _ := newTestHarvester(t, testConfig())
			src := Source{ID: "real", BaseURL: rp.URL()}
			res := mustHarvest(t, h, src)
			if res.Records != tc.recs || res.Sanitized != tc.sanitized {
				t.Errorf("records %d sanitized %d, want %d %d", res.Records, res.Sanitized, tc.recs, tc.sanitized)
			}
			wantCounts(t, "first harvest", res.Counts, tc.added, 0, 0, tc.deleted, tc.rejected)
			compared := int64(0)
			for _, rm := range recordRE.FindAllSubmatch(body, -1) {
				m := metadataRE.FindSubmatch(rm[1])
				if m == nil || tc.sanitized > 0 {
					continue
				}
				ident := string(identRE.FindSubmatch(rm[1])[1])
				got, err := st.Original(ctx, ingest.LocalID(ident), "oai_dc")
				if err != nil {
					continue // rejected
				}
				compared++
				if !bytes.Equal(got, m[1]) {
					t.Errorf("payload of %s not byte-exact:\n got %.200q\nwant %.200q", ident, got, m[1])
				}
			}
			if tc.sanitized == 0 && compared != tc.added {
				t.Errorf("compared %d payloads, want %d", compared, tc.added)
			}
			b, _ := st.GetState(checkpointName("real", "oai_dc"))
			cp, _ := decodeCheckpoint(b)
			if cp.NextFrom == "" {
				t.Errorf("checkpoint %+v: no next from", cp)
			}
			res = mustHarvest(t, h, src)
			wantCounts(t, "second harvest", res.Counts, 0, 0, tc.added+tc.deleted, 0, tc.rejected)
			if rep, err := st.Verify(ctx, nil); err != nil || !rep.OK() {
				t.Errorf("verify: %v %+v", err, rep)
			}
		})
	}
}

// BnF declares dc: and oai_dc: on the OAI-PMH root: the stored original
// lists the declarations it inherited, so it is well-formed alone.
func TestRealInheritedNamespaces(t *testing.T) {
	rp := newTestRepo(t, 0)
	rp.fault = serveFile(rp, readTestdata(t, "bnf-gallica-listrecords-oai_dc-rootns.xml"))
	h, st, _ := newTestHarvester(t, testConfig())
	mustHarvest(t, h, Source{ID: "bnf", BaseURL: rp.URL()})
	it := st.Scan(ctx, store.Query{Origin: "bnf"})
	defer it.Close()
	if !it.Next() {
		t.Fatal("no record")
	}
	rec, _ := st.Get(ctx, it.Entry().ID)
	o := rec.Originals[0]
	if o.Namespaces["dc"] != crosswalk.NamespaceDC || o.Namespace != crosswalk.NamespaceOAIDC {
		t.Errorf("original %+v", o)
	}
}
